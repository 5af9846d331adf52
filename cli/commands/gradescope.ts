/**
 * `attention-kit gradescope <assignment> [--out FILE.zip] [--solutions DIR]`: build the Gradescope
 * autograder zip for one assignment (see cli/grader/gradescope.ts).
 */
import { join } from 'node:path';
import { KIT_ROOT } from '../paths.js';
import { buildAutograderZip } from '../grader/gradescope.js';

export const summary = 'build the Gradescope autograder zip for an assignment (--out FILE.zip)';

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const take = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args.splice(i, 2)[1];
  };
  const solutions = take('--solutions') ?? join(KIT_ROOT, 'solutions');
  const out = take('--out');
  if (args.length !== 1 || args[0]!.startsWith('-')) {
    console.error('usage: attention-kit gradescope <assignment> [--out FILE.zip] [--solutions DIR]');
    return 2;
  }
  const assignment = args[0]!.replace(/\.ipynb$/, '').replace(/^.*\//, '');
  try {
    const zip = buildAutograderZip(assignment, solutions, out ?? join(process.cwd(), `${assignment}-autograder.zip`));
    console.log(`wrote ${zip}\nupload it as the autograder of a Gradescope "Programming Assignment" (Ubuntu 22.04 base image); students submit ${assignment}.ipynb`);
    return 0;
  } catch (error) {
    console.error(`attention-kit gradescope: ${(error as Error).message}`);
    return 1;
  }
}
