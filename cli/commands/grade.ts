/**
 * `attention-kit grade <submission.ipynb | folder> [--results results.json] [--csv scores.csv]
 *   [--assignment NAME] [--solutions DIR] [--jobs N] [--cell-timeout S] [--timeout S] [--memory-mb M] [--seed N] [--json]`
 *
 * Grades in a sandboxed kernel (see cli/grader/grade.ts and docs/threat-model.md). A folder grades
 * every notebook in it and writes a CSV of scores (default <folder>/scores.csv); with --assignment,
 * a folder is a Gradescope submission: the notebook for that assignment (or its only notebook).
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KIT_ROOT, requireVenv } from '../paths.js';
import { NotebookError } from '../grader/notebook.js';
import { type GradeOptions, type GradeResult, failedResults, formatReport, gradeSubmission, gradescopeResults } from '../grader/grade.js';

export const summary = 'grade submissions in a sandboxed kernel (--results results.json, --csv, --assignment, --solutions)';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
}

function csvField(s: string | number): string {
  const t = String(s);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const results = option(args, '--results');
  const csv = option(args, '--csv');
  const assignment = option(args, '--assignment');
  const solutionsDir = option(args, '--solutions') ?? join(KIT_ROOT, 'solutions');
  const cellTimeout = option(args, '--cell-timeout');
  const total = option(args, '--timeout');
  const memory = option(args, '--memory-mb');
  const seed = option(args, '--seed');
  const jobs = Math.max(1, Number(option(args, '--jobs') ?? 1));
  const asJson = args.includes('--json');
  const targets = args.filter((a) => a !== '--json');
  if (targets.length !== 1 || targets[0]!.startsWith('-')) {
    console.error('usage: attention-kit grade <submission.ipynb | folder> [--results results.json] [--csv scores.csv] [--assignment NAME]');
    return 2;
  }
  requireVenv();
  const opts: GradeOptions = {
    solutionsDir,
    assignment,
    cellTimeoutS: cellTimeout ? Number(cellTimeout) : undefined,
    totalTimeoutS: total ? Number(total) : undefined,
    memoryMb: memory ? Number(memory) : undefined,
    seed: seed ? Number(seed) : undefined,
  };
  const target = targets[0]!;
  const isDir = existsSync(target) && statSync(target).isDirectory();

  const writeResults = (obj: Record<string, unknown>): void => {
    if (results) writeFileSync(results, JSON.stringify(obj, null, 1) + '\n');
  };

  if (!isDir || assignment) {
    let file = target;
    if (isDir) {
      const notebooks = readdirSync(target).filter((f) => f.endsWith('.ipynb')).sort();
      const named = notebooks.find((f) => f === `${assignment}.ipynb`);
      if (!named && notebooks.length !== 1) {
        const message = notebooks.length === 0 ? `no .ipynb notebook in the submission` : `several notebooks in the submission and none named ${assignment}.ipynb: ${notebooks.join(', ')}`;
        console.error(`attention-kit grade: ${message}`);
        writeResults(failedResults(message));
        return 1;
      }
      file = join(target, named ?? notebooks[0]!);
    }
    try {
      const r = await gradeSubmission(file, opts);
      console.log(asJson ? JSON.stringify(r, null, 1) : formatReport(r));
      writeResults(gradescopeResults(r));
      return 0;
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      console.error(`attention-kit grade: ${message}`);
      writeResults(failedResults(message));
      return error instanceof NotebookError ? 2 : 1;
    }
  }

  // A folder of submissions.
  const files = readdirSync(target).filter((f) => f.endsWith('.ipynb')).sort();
  const rows = [['file', 'assignment', 'score', 'max_score', 'seconds', 'error'].join(',')];
  const outcomes: (GradeResult | string)[] = Array(files.length).fill('not graded');
  // --jobs N grades N notebooks at a time (each in its own kernel).
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const k = next++;
      const path = join(target, files[k]!);
      try {
        const r = await gradeSubmission(path, opts);
        outcomes[k] = r;
        console.log(formatReport(r) + '\n');
      } catch (error) {
        const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        outcomes[k] = message;
        console.error(`✗ ${basename(path)}: ${message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  const all: GradeResult[] = [];
  outcomes.forEach((o, k) => {
    if (typeof o === 'string') rows.push([files[k]!, '', 0, '', '', o].map(csvField).join(','));
    else {
      all.push(o);
      rows.push([files[k]!, o.assignment, o.score, o.maxScore, o.seconds.toFixed(1), ''].map(csvField).join(','));
    }
  });
  const csvPath = csv ?? join(target, 'scores.csv');
  writeFileSync(csvPath, rows.join('\n') + '\n');
  console.log(`graded ${files.length} notebook(s); scores in ${csvPath}`);
  if (results) writeResults({ submissions: all.map((r) => ({ file: basename(r.submission), ...gradescopeResults(r) })) });
  return 0;
}
