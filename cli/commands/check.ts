/**
 * `attention-kit check <notebook.ipynb> [--timeout S]`: run a notebook's cells in order, in the
 * learner's own tslab kernel, and report the visible tests (nbgrader test cells) as pass/fail.
 * Unlike `run` it carries on after a failing cell, so every test is tried. The hidden tests are
 * not here: only `attention-kit grade` runs them.
 */
import { dirname, resolve } from 'node:path';
import { jupyterEnv, requireVenv } from '../paths.js';
import { NotebookError, isTestCell, nbgraderOf, readNotebook, sourceOf } from '../grader/notebook.js';
import { KernelDriver, type Sandbox } from '../grader/sandbox.js';

export const summary = "run a notebook's visible tests and report pass/fail per graded part (--timeout S)";

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const t = args.indexOf('--timeout');
  const timeoutS = t >= 0 ? Number(args.splice(t, 2)[1]) : 300;
  if (args.length !== 1) {
    console.error('usage: attention-kit check <notebook.ipynb> [--timeout S]');
    return 2;
  }
  const path = resolve(args[0]!);
  let nb;
  try {
    nb = readNotebook(path);
  } catch (error) {
    console.error(`attention-kit check: ${(error as Error).message}`);
    return error instanceof NotebookError ? 2 : 1;
  }
  requireVenv();
  const local: Sandbox = {
    dir: dirname(path),
    box: dirname(path),
    user: null,
    describe: 'the tslab kernel',
    driverEnv: jupyterEnv(),
    kernelName: nb.metadata.kernelspec?.name ?? 'tslab',
    kernelEnv: Object.fromEntries(Object.entries(jupyterEnv()).filter((e): e is [string, string] => typeof e[1] === 'string')),
    cleanup: () => {},
  };
  const driver = new KernelDriver(local, 0);
  let passed = 0;
  let points = 0;
  let total = 0;
  let tests = 0;
  try {
    await driver.start();
    for (const [i, cell] of nb.cells.entries()) {
      if (cell.cell_type !== 'code' || sourceOf(cell).trim() === '') continue;
      const r = await driver.exec(sourceOf(cell), timeoutS);
      if (!isTestCell(cell)) {
        if (r.status !== 'ok') console.log(`! cell ${i + 1}: ${r.error ?? r.status}`);
        continue;
      }
      const meta = nbgraderOf(cell)!;
      const worth = Number(meta.points ?? 0);
      tests += 1;
      total += worth;
      const ok = r.status === 'ok';
      if (ok) {
        passed += 1;
        points += worth;
      }
      console.log(`${ok ? '✓' : '✗'} ${meta.grade_id} (${worth} point${worth === 1 ? '' : 's'})`);
      const lines = r.stdout.split('\n').filter((l) => /^\s*[✓✗]|^ {4}/.test(l));
      for (const line of lines) console.log(`    ${line}`);
      if (!ok && lines.length === 0) console.log(`    ${r.error ?? r.status}`);
    }
  } finally {
    await driver.stop().catch(() => driver.kill());
  }
  console.log(`visible tests: ${passed}/${tests} parts pass (${points}/${total} points if the hidden tests agree)`);
  return passed === tests ? 0 : 1;
}
