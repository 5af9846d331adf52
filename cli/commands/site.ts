/**
 * `attention-kit site`: build the static course site (outline, executed lessons, glossary) into
 * site/. See docs/site.md.
 */
import { buildSite } from '../site/build.js';

export const summary = 'build the static course site into site/ (--out DIR, --no-execute, --execute-only 04,07, --quick)';

const HELP = `usage: attention-kit site [--out DIR] [--execute | --no-execute | --execute-only N,N…] [--quick] [--timeout S]

  --out DIR          where to write the site (default: site/)
  --execute          run every lesson through the tslab kernel first (the default)
  --no-execute       run nothing; reuse executed copies from an earlier build when they are newer
                     than the notebook, else show the lesson without outputs
  --execute-only L   run only these lessons (comma-separated numbers), the others as --no-execute
  --quick            small announced budgets (ATTN_QUICK=1); CI=true does the same
  --timeout S        seconds per cell (default 600)

Exits 1 when a lesson failed to run (the site is still written, with the error shown).`;

export async function main(args: string[]): Promise<number> {
  let out: string | undefined;
  let execute: 'all' | 'none' | number[] = 'all';
  let quick = false;
  let timeout = 600;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--help' || arg === '-h') {
      console.log(HELP);
      return 0;
    } else if (arg === '--out') out = value();
    else if (arg === '--execute') execute = 'all';
    else if (arg === '--no-execute') execute = 'none';
    else if (arg === '--execute-only') execute = value().split(',').filter(Boolean).map(Number);
    else if (arg === '--quick') quick = true;
    else if (arg === '--timeout') timeout = Number(value());
    else {
      console.error(`attention-kit site: unknown option ${arg}\n\n${HELP}`);
      return 2;
    }
  }
  if (Array.isArray(execute) && execute.some((n) => !Number.isInteger(n))) {
    console.error('attention-kit site: --execute-only takes lesson numbers, e.g. --execute-only 04,07');
    return 2;
  }
  const report = buildSite({ out, execute, quick, cellTimeoutS: timeout });
  for (const l of report.lessons) {
    const state = l.ok ? (l.outputs === 'source' ? 'no outputs' : `${l.outputs === 'run' ? 'executed' : 'cached outputs'}, ${l.figures} figure(s)`) : `FAILED: ${l.error}`;
    console.log(`  ${l.ok ? '✓' : '✗'} ${l.page}  (${state})`);
  }
  for (const e of report.mathErrors) console.warn(`  ! formula KaTeX could not typeset: ${e}`);
  console.log(`[site] ${report.pages.length} pages in ${report.out} (${report.seconds.toFixed(1)} s); open ${report.out}/index.html`);
  return report.lessons.every((l) => l.ok) ? 0 : 1;
}
