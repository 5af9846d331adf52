/**
 * `attention-kit release [--check] [--solutions DIR] [--exercises DIR] [name...]`: make the
 * learners' notebooks in exercises/ from the instructor's in solutions/ (see cli/grader/release.ts).
 * `--check` writes nothing and exits 1 when exercises/ is stale.
 */
import { join, relative } from 'node:path';
import { KIT_ROOT } from '../paths.js';
import { releaseAll } from '../grader/release.js';
import { NotebookError } from '../grader/notebook.js';

export const summary = 'generate exercises/ from solutions/ (--check: fail when exercises/ is stale)';

export async function main(args: string[]): Promise<number> {
  let solutions = join(KIT_ROOT, 'solutions');
  let exercises = join(KIT_ROOT, 'exercises');
  let checkOnly = false;
  const only: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--check') checkOnly = true;
    else if (a === '--solutions') solutions = args[++i] ?? solutions;
    else if (a === '--exercises') exercises = args[++i] ?? exercises;
    else if (a.startsWith('-')) {
      console.error(`attention-kit release: unknown option ${a}`);
      return 2;
    } else only.push(a);
  }
  try {
    const r = releaseAll(solutions, exercises, { checkOnly, only: only.length ? only : undefined });
    const rel = (p: string) => relative(process.cwd(), p) || p;
    for (const f of r.written) console.log(`wrote ${rel(f)}`);
    if (checkOnly) {
      for (const f of r.stale) console.log(`stale: ${rel(f)}`);
      console.log(r.stale.length ? `${r.stale.length} exercise notebook(s) are stale: run \`attention-kit release\`` : `exercises/ is up to date (${r.unchanged.length} notebooks)`);
      return r.stale.length ? 1 : 0;
    }
    console.log(`${r.written.length} written, ${r.unchanged.length} unchanged`);
    return 0;
  } catch (error) {
    console.error(`attention-kit release: ${error instanceof NotebookError || error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
