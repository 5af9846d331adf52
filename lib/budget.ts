/**
 * Training budgets. Every lesson runs top to bottom on the CPU fallback in minutes; under CI
 * (CI=true) or ATTN_QUICK=1 a notebook runs the same code paths with a smaller budget, and says
 * so. ATTN_FULL=1 asks for the full budget even under CI; a learner can pass a bigger one.
 */
export type BudgetMode = 'full' | 'quick';

export function budgetMode(env: Record<string, string | undefined> = process.env): BudgetMode {
  if (env.ATTN_FULL === '1') return 'full';
  return env.CI === 'true' || env.ATTN_QUICK === '1' ? 'quick' : 'full';
}

/**
 * Pick the full or the quick value and announce the quick one, e.g.
 * `const steps = budget('training steps', 3000, 300);`
 */
export function budget<T>(what: string, full: T, quick: T, env: Record<string, string | undefined> = process.env): T {
  if (budgetMode(env) === 'quick') {
    console.log(`[quick run: ${what} = ${String(quick)} instead of ${String(full)} (CI=true or ATTN_QUICK=1); set ATTN_FULL=1 for the full run]`);
    return quick;
  }
  return full;
}
