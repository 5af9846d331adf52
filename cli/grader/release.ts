/**
 * `attention-kit release`: solutions/*.ipynb (the instructor's single source of truth) →
 * exercises/*.ipynb (what learners get).
 *
 *   - code between `// BEGIN SOLUTION` and `// END SOLUTION` becomes
 *       // YOUR CODE HERE
 *       throw new Error('not implemented yet: <enclosing function>');
 *   - lines between `// BEGIN HIDDEN TESTS` and `// END HIDDEN TESTS` are removed, and so are
 *     whole cells marked `attention_kit.hidden` (instructor-only notes and checks);
 *   - outputs and execution counts are cleared; nbgrader metadata is kept as is.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Cell, type Notebook, isHiddenCell, readNotebook, serializeNotebook, sourceOf, toSourceLines } from './notebook.js';

const BEGIN_SOLUTION = /^(\s*)\/\/\s*BEGIN SOLUTION\s*$/;
const END_SOLUTION = /^\s*\/\/\s*END SOLUTION\s*$/;
const BEGIN_HIDDEN = /^\s*(\/\/|###)\s*BEGIN HIDDEN TESTS\s*$/;
const END_HIDDEN = /^\s*(\/\/|###)\s*END HIDDEN TESTS\s*$/;

/** Name of the function a line sits in: the nearest declaration above it. */
function enclosingFunction(lines: readonly string[], index: number): string {
  for (let i = index; i >= 0; i--) {
    const m =
      /\bfunction\s+([A-Za-z_$][\w$]*)/.exec(lines[i]!) ??
      /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*(?:async\s*)?(?:\(|function)/.exec(lines[i]!);
    if (m) return m[1]!;
  }
  return 'this part';
}

/** Replace solution regions with stubs; remove hidden-test regions. Throws on unbalanced markers. */
export function stripSource(source: string, where: string): string {
  const lines = source.split('\n');
  const out: string[] = [];
  let mode: 'keep' | 'solution' | 'hidden' = 'keep';
  for (const [i, line] of lines.entries()) {
    if (mode === 'keep') {
      const begin = BEGIN_SOLUTION.exec(line);
      if (begin) {
        const indent = begin[1]!;
        out.push(`${indent}// YOUR CODE HERE`, `${indent}throw new Error('not implemented yet: ${enclosingFunction(lines, i)}');`);
        mode = 'solution';
      } else if (BEGIN_HIDDEN.test(line)) {
        mode = 'hidden';
      } else if (END_SOLUTION.test(line) || END_HIDDEN.test(line)) {
        throw new Error(`${where}: line ${i + 1} ends a region that was never begun`);
      } else {
        out.push(line);
      }
    } else if (mode === 'solution' && END_SOLUTION.test(line)) {
      mode = 'keep';
    } else if (mode === 'hidden' && END_HIDDEN.test(line)) {
      mode = 'keep';
    } else if (BEGIN_SOLUTION.test(line) || BEGIN_HIDDEN.test(line)) {
      throw new Error(`${where}: line ${i + 1} begins a region inside another one`);
    }
  }
  if (mode !== 'keep') throw new Error(`${where}: a ${mode === 'solution' ? 'BEGIN SOLUTION' : 'BEGIN HIDDEN TESTS'} region is never ended`);
  return out.join('\n');
}

/** The learner's notebook made from an instructor's notebook. Pure. */
export function releaseNotebook(solution: Notebook, assignment: string): Notebook {
  const cells: Cell[] = [];
  for (const [i, cell] of solution.cells.entries()) {
    if (isHiddenCell(cell)) continue;
    const copy: Cell = JSON.parse(JSON.stringify(cell));
    if (copy.cell_type === 'code') {
      copy.source = toSourceLines(stripSource(sourceOf(cell), `${assignment} cell ${i}`));
      copy.outputs = [];
      copy.execution_count = null;
    }
    cells.push(copy);
  }
  return {
    ...solution,
    metadata: { ...solution.metadata, attention_kit: { ...(solution.metadata.attention_kit ?? {}), assignment } },
    cells,
  };
}

export interface ReleaseResult {
  written: string[];
  unchanged: string[];
  stale: string[];
}

/** Release every solutions/*.ipynb into exercisesDir. With `checkOnly`, report stale files instead of writing. */
export function releaseAll(solutionsDir: string, exercisesDir: string, options: { checkOnly?: boolean; only?: string[] } = {}): ReleaseResult {
  const result: ReleaseResult = { written: [], unchanged: [], stale: [] };
  const files = readdirSync(solutionsDir)
    .filter((f) => f.endsWith('.ipynb'))
    .filter((f) => !options.only || options.only.some((o) => f.includes(o)))
    .sort();
  if (!options.checkOnly) mkdirSync(exercisesDir, { recursive: true });
  for (const file of files) {
    const assignment = basename(file, '.ipynb');
    const text = serializeNotebook(releaseNotebook(readNotebook(join(solutionsDir, file)), assignment));
    const target = join(exercisesDir, file);
    const current = existsSync(target) ? readFileSync(target, 'utf8') : null;
    if (current === text) {
      result.unchanged.push(target);
    } else if (options.checkOnly) {
      result.stale.push(target);
    } else {
      writeFileSync(target, text);
      result.written.push(target);
    }
  }
  if (existsSync(exercisesDir)) {
    // An exercise whose solution was deleted is stale too.
    for (const file of readdirSync(exercisesDir).filter((f) => f.endsWith('.ipynb'))) {
      if (!files.includes(file) && !options.only) result.stale.push(join(exercisesDir, file));
    }
  }
  return result;
}
