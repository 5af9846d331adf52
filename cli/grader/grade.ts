/**
 * Grading one submission.
 *
 * The instructor's notebook (solutions/<assignment>.ipynb) says what the parts are (graded test
 * cells: grade_id, points, the learner's function, the hidden case family, what is off limits)
 * and supplies the locked cells. From the submission the grader takes only the learner's own
 * cells. It runs them in a sandboxed kernel (sandbox.ts), then for each part sends inputs to the
 * learner's function and reads back its outputs as data, and compares them here with references
 * computed in this process (cases.ts). Nothing the kernel prints is trusted except the values
 * inside this run's random markers, and even those are only ever compared with references.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Rng } from '../../lib/random.js';
import { type Finding, findLibraryUses, findingHits } from './analyze.js';
import { type Case, FAMILIES, compareValue, encodeValue } from './cases.js';
import {
  type Cell,
  type Notebook,
  NotebookError,
  assignmentOf,
  isLockedCodeCell,
  isSolutionCell,
  isTestCell,
  nbgraderOf,
  parseNotebook,
  sourceOf,
} from './notebook.js';
import { type ExecReply, KernelDriver, createSandbox } from './sandbox.js';

export interface Part {
  id: string;
  title: string;
  points: number;
  call: string;
  cases: string;
  offLimits: string[];
}

export interface Manifest {
  assignment: string;
  parts: Part[];
  /** Locked (instructor) code cells by grade_id, in notebook order. */
  locked: { id: string; source: string }[];
}

/** Read the parts and locked cells from an instructor's notebook. */
export function manifestOf(solution: Notebook, assignment: string): Manifest {
  const parts: Part[] = [];
  const locked: Manifest['locked'] = [];
  for (const cell of solution.cells) {
    const nbg = nbgraderOf(cell);
    if (!nbg) continue;
    if (isTestCell(cell)) {
      const meta = cell.metadata.attention_kit;
      if (!meta?.call || !meta.cases) throw new Error(`${assignment}: test cell ${nbg.grade_id} has no attention_kit.call / attention_kit.cases metadata`);
      if (!FAMILIES[meta.cases]) throw new Error(`${assignment}: test cell ${nbg.grade_id} names unknown case family '${meta.cases}'`);
      parts.push({
        id: nbg.grade_id,
        title: meta.title ?? nbg.grade_id,
        points: Number(nbg.points ?? 0),
        call: meta.call,
        cases: meta.cases,
        offLimits: meta.off_limits ?? [],
      });
    } else if (isLockedCodeCell(cell)) {
      locked.push({ id: nbg.grade_id, source: sourceOf(cell) });
    }
  }
  return { assignment, parts, locked };
}

export interface PartResult {
  id: string;
  title: string;
  score: number;
  maxScore: number;
  /** Why points were lost (or 'all N hidden cases passed'). */
  output: string;
  seconds: number;
}

export interface GradeResult {
  submission: string;
  assignment: string;
  score: number;
  maxScore: number;
  parts: PartResult[];
  backend: string;
  sandbox: string;
  seed: number;
  seconds: number;
  /** Problems with the learner's cells (errors, time-outs): informative, not scored directly. */
  cellNotes: string[];
  findings: Finding[];
  sha256: string;
}

export interface GradeOptions {
  solutionsDir: string;
  /** Grade as this assignment regardless of the notebook's metadata and name. */
  assignment?: string;
  cellTimeoutS?: number;
  totalTimeoutS?: number;
  memoryMb?: number;
  /** Fixed seed for the hidden cases (default: fresh per run). */
  seed?: number;
}

interface RunCell {
  index: number;
  source: string;
  learner: boolean;
}

/** Which cells to run: the instructor's version of each locked cell, the learner's own cells, no test cells. */
export function planCells(submission: Notebook, manifest: Manifest): RunCell[] {
  const lockedById = new Map(manifest.locked.map((c) => [c.id, c.source]));
  const partIds = new Set(manifest.parts.map((p) => p.id));
  const seen = new Set<string>();
  const plan: RunCell[] = [];
  submission.cells.forEach((cell: Cell, index: number) => {
    if (cell.cell_type !== 'code') return;
    const nbg = nbgraderOf(cell);
    const id = nbg?.grade_id;
    if (id && lockedById.has(id) && !seen.has(id)) {
      seen.add(id);
      plan.push({ index, source: lockedById.get(id)!, learner: false });
      return;
    }
    // Test cells (the instructor's ids, or anything claiming to be a test) are never run: the grader tests.
    if ((id && partIds.has(id)) || (isTestCell(cell) && !isSolutionCell(cell))) return;
    const source = sourceOf(cell);
    if (source.trim() !== '') plan.push({ index, source, learner: true });
  });
  // Locked cells the learner deleted still run, first, in the instructor's order.
  const missing = manifest.locked.filter((c) => !seen.has(c.id)).map((c) => ({ index: -1, source: c.source, learner: false }));
  return [...missing, ...plan];
}

function probeCode(fn: string, cases: Case[], nonce: string): string {
  const inputs = JSON.stringify(JSON.stringify(cases.map((c) => c.args.map(encodeValue))));
  // tslab quirks: a block (not an awaited IIFE) for top-level await, and no names starting with
  // "__" (TypeScript escapes them and tslab then cannot find them).
  return `{
  const akgNonce = ${JSON.stringify(nonce)};
  const akgInputs: any = JSON.parse(${inputs});
  const akgDecode = (v: any): any => {
    if (Array.isArray(v)) return v.map(akgDecode);
    if (v && typeof v === 'object') {
      const t = v['__tensor'];
      if (Array.isArray(t)) return tf.tensor(t[1].map(Number), t[0], 'float32');
      const o: any = {};
      for (const k of Object.keys(v)) o[k] = akgDecode(v[k]);
      return o;
    }
    return typeof v === 'string' ? Number(v) : v;
  };
  const akgNum = (x: any) => (typeof x === 'number' ? (Number.isFinite(x) ? x : String(x)) : typeof x === 'boolean' ? Number(x) : null);
  const akgEncode = async (v: any, depth: number): Promise<any> => {
    if (depth > 8 || v === undefined || v === null) return null;
    if (typeof v === 'object' && Array.isArray(v.shape) && typeof v.data === 'function') {
      const values: any = await v.data();
      return { ['__tensor']: [Array.from(v.shape), Array.from(values as ArrayLike<number>).map(akgNum)] };
    }
    if (Array.isArray(v)) return Promise.all(v.map((x: any) => akgEncode(x, depth + 1)));
    if (typeof v === 'object') {
      const o: any = {};
      for (const k of Object.keys(v)) o[k] = await akgEncode(v[k], depth + 1);
      return o;
    }
    return akgNum(v) ?? { type: typeof v };
  };
  const akgFn: any = ${fn};
  const akgRun = async () => {
    for (let i = 0; i < akgInputs.length; i++) {
      let r: any;
      tf.engine().startScope();
      try {
        if (typeof akgFn !== 'function') throw new Error('${fn} is not a function');
        r = { ok: await akgEncode(await akgFn(...akgDecode(akgInputs[i])), 0) };
      } catch (e: any) {
        r = { error: String((e && e.message) || e).split('\\n')[0].slice(0, 300) };
      } finally {
        tf.engine().endScope();
      }
      console.log(akgNonce + JSON.stringify({ i, ...r }) + akgNonce);
    }
  };
  await akgRun();
}
`;
}

/** Values between this run's markers, by case index; duplicates mean tampering. */
function readProbeOutput(stdout: string, nonce: string, count: number): { results: ({ ok?: unknown; error?: string } | null)[]; tampered: boolean } {
  const results: ({ ok?: unknown; error?: string } | null)[] = Array(count).fill(null);
  let tampered = false;
  const re = new RegExp(`${nonce}(.*?)${nonce}`, 'g');
  for (const m of stdout.matchAll(re)) {
    try {
      const msg = JSON.parse(m[1]!) as { i: number; ok?: unknown; error?: string };
      if (!Number.isInteger(msg.i) || msg.i < 0 || msg.i >= count) continue;
      if (results[msg.i] !== null) tampered = true;
      results[msg.i] = msg;
    } catch {
      tampered = true;
    }
  }
  return { results, tampered };
}

function explainExec(r: ExecReply, what: string): string {
  switch (r.status) {
    case 'timeout':
      return `${what} ran past the time limit`;
    case 'died':
      return `${what} ended the kernel process (process.exit or a crash)`;
    case 'memory':
      return `${what} ran past the memory limit`;
    case 'driver-error':
      return `${what}: the grader lost the kernel (${r.error ?? 'no reply'})`;
    default:
      return `${what} failed: ${r.error ?? 'error'}`;
  }
}

/** Grade one submission file. Throws NotebookError (one line) for unreadable input. */
export async function gradeSubmission(path: string, options: GradeOptions): Promise<GradeResult> {
  const started = Date.now();
  const cellTimeoutS = options.cellTimeoutS ?? 60;
  const totalTimeoutS = options.totalTimeoutS ?? 600;
  const memoryMb = options.memoryMb ?? 3072;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new NotebookError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : 'cannot be read'}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const submission = parseNotebook(bytes.toString('utf8'), path);
  const assignment = options.assignment ?? assignmentOf(submission, path);
  const solutionPath = join(options.solutionsDir, `${assignment}.ipynb`);
  if (!/^[\w.-]+$/.test(assignment) || !existsSync(solutionPath)) {
    throw new NotebookError(`${path}: unknown assignment '${assignment}' (no ${basename(solutionPath)} in ${options.solutionsDir}); pass --assignment NAME`);
  }
  const solution = parseNotebook(readFileSync(solutionPath, 'utf8'), solutionPath);
  const manifest = manifestOf(solution, assignment);
  const plan = planCells(submission, manifest);
  const watched = new Set(manifest.parts.flatMap((p) => p.offLimits));
  const findings = findLibraryUses(
    plan.filter((c) => c.learner).map((c) => ({ index: c.index, source: c.source })),
    watched,
  );
  const seed = options.seed ?? randomInt(1, 2 ** 31 - 1);
  const deadline = started + totalTimeoutS * 1000;
  const cellNotes: string[] = [];
  const parts: PartResult[] = [];
  let backend = 'unknown';

  const sandbox = createSandbox({ memoryMb });
  const driver = new KernelDriver(sandbox, memoryMb);
  try {
    // A loaded machine can make a kernel miss its start-up deadline: try twice.
    const startS = await driver.start().catch(() => driver.restart());
    if (process.env.ATTN_GRADER_DEBUG) console.error(`[debug] kernel start ${startS.toFixed(1)} s, at ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const goodCells: RunCell[] = [];
    // The instructor's (locked) cells are trusted to finish; initBackend alone can take 10 s or
    // more on a loaded machine, so they get a generous limit. Learner cells get cellTimeoutS.
    const limitFor = (cell: RunCell, left: number): number => Math.min(cell.learner ? cellTimeoutS : Math.max(cellTimeoutS, 120), left);
    /** Fresh kernel with every cell that ran fine so far (after a time-out, exit or memory kill). */
    const recover = async (): Promise<void> => {
      await driver.restart();
      for (const cell of goodCells) {
        const left = (deadline - Date.now()) / 1000;
        if (left <= 1) return;
        await driver.exec(cell.source, limitFor(cell, left));
      }
    };
    for (const cell of plan) {
      const left = (deadline - Date.now()) / 1000;
      if (left <= 1) {
        cellNotes.push('the whole-run time limit was reached before all cells ran');
        break;
      }
      const r = await driver.exec(cell.source, limitFor(cell, left));
      if (process.env.ATTN_GRADER_DEBUG) console.error(`[debug] cell ${cell.index}: ${r.status} ${r.seconds.toFixed(2)} s at ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const label = cell.learner ? `cell ${cell.index + 1}` : `locked cell ${cell.index + 1}`;
      if (r.status === 'ok') {
        goodCells.push(cell);
      } else {
        cellNotes.push(explainExec(r, label));
        if (r.status !== 'error') await recover();
      }
    }
    {
      const nonce = randomBytes(12).toString('hex');
      const r = await driver.exec(`console.log(${JSON.stringify(nonce)} + String(tf.getBackend()) + ${JSON.stringify(nonce)})`, 20);
      const m = new RegExp(`${nonce}([\\w-]{1,20})${nonce}`).exec(r.stdout);
      if (m) backend = m[1]!;
    }

    for (const [k, part] of manifest.parts.entries()) {
      const t0 = Date.now();
      const result = (score: number, output: string): PartResult => ({
        id: part.id,
        title: part.title,
        score,
        maxScore: part.points,
        output,
        seconds: (Date.now() - t0) / 1000,
      });
      const hits = findings.filter((f) => findingHits(f, part.offLimits));
      if (hits.length > 0) {
        const lines = hits.slice(0, 3).map((f) => `cell ${f.cell + 1}, line ${f.line}: ${f.message}`);
        parts.push(result(0, `0 points: this part may not use ${part.offLimits.join(', ')} (implement it yourself).\n${lines.join('\n')}`));
        continue;
      }
      const left = (deadline - Date.now()) / 1000;
      if (left <= 2) {
        parts.push(result(0, '0 points: the whole-run time limit was reached before this part was tested'));
        continue;
      }
      const cases = FAMILIES[part.cases]!(new Rng(seed + 7919 * k));
      const nonce = randomBytes(12).toString('hex');
      const r = await driver.exec(probeCode(part.call, cases, nonce), Math.min(cellTimeoutS, left));
      if (r.status !== 'ok' && r.status !== 'error') {
        parts.push(result(0, `0 points: ${explainExec(r, `calling ${part.call}`)}`));
        await recover();
        continue;
      }
      if (process.env.ATTN_GRADER_DEBUG) console.error(`[debug] ${part.id}: ${r.status} ${r.error ?? ''}\n${r.stdout.slice(0, 2000)}\n${r.stderr.slice(0, 2000)}`);
      const { results, tampered } = readProbeOutput(r.stdout, nonce, cases.length);
      if (tampered) {
        parts.push(result(0, '0 points: the output of the tests was tampered with (repeated or malformed result markers)'));
        continue;
      }
      if (results.every((x) => x === null)) {
        const why = /Cannot find name/.test(r.error ?? '') ? `${part.call} is not defined (is its cell there, and does it run without errors?)` : (r.error ?? 'no result came back');
        parts.push(result(0, `0 points: ${why}`));
        continue;
      }
      const failures: string[] = [];
      cases.forEach((c, i) => {
        const got = results[i];
        if (!got) failures.push(`${c.label}: no result`);
        else if (got.error !== undefined) failures.push(`${c.label}: ${part.call} threw: ${got.error}`);
        else {
          const why = compareValue(got.ok, c.expected, c.atol, c.rtol);
          if (why) failures.push(`${c.label}: ${why}`);
        }
      });
      parts.push(
        failures.length === 0
          ? result(part.points, `all ${cases.length} hidden cases passed`)
          : result(0, `0 points: ${failures.length} of ${cases.length} hidden cases failed\n${failures.slice(0, 3).map((f) => `  - ${f}`).join('\n')}`),
      );
    }
  } finally {
    await driver.stop().catch(() => driver.kill());
    sandbox.cleanup();
  }
  const after = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (after !== sha256) throw new Error(`${path} changed while it was graded (this is a bug in the grader)`);
  return {
    submission: path,
    assignment,
    score: parts.reduce((a, p) => a + p.score, 0),
    maxScore: manifest.parts.reduce((a, p) => a + p.points, 0),
    parts,
    backend,
    sandbox: sandbox.describe,
    seed,
    seconds: (Date.now() - started) / 1000,
    cellNotes,
    findings,
    sha256,
  };
}

/** The readable report, built from grader-side data only. */
export function formatReport(r: GradeResult): string {
  const lines = [`${r.assignment}: ${basename(r.submission)}`, `  backend ${r.backend} · ${r.sandbox}`, `  hidden cases seeded with ${r.seed}`];
  for (const note of r.cellNotes) lines.push(`  ! ${note}`);
  const width = Math.max(...r.parts.map((p) => p.id.length), 4);
  for (const p of r.parts) {
    const mark = p.score === p.maxScore ? '✓' : '✗';
    const [first, ...rest] = p.output.split('\n');
    lines.push(`  ${mark} ${p.id.padEnd(width)} ${`${p.score}/${p.maxScore}`.padStart(5)}  ${p.title}: ${first}`);
    for (const line of rest) lines.push(`      ${line}`);
  }
  lines.push(`  score ${r.score}/${r.maxScore} (${r.seconds.toFixed(1)} s)`);
  return lines.join('\n');
}

/** Gradescope's results.json. */
export function gradescopeResults(r: GradeResult): Record<string, unknown> {
  return {
    score: r.score,
    execution_time: Math.round(r.seconds),
    output: `${r.assignment}: ${r.score}/${r.maxScore}. Backend ${r.backend}.${r.cellNotes.length ? ' ' + r.cellNotes.join('; ') : ''}`,
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests: r.parts.map((p) => ({
      name: `${p.id}: ${p.title}`,
      score: p.score,
      max_score: p.maxScore,
      output: p.output,
      visibility: 'visible',
      execution_time: Math.round(p.seconds * 1000) / 1000,
    })),
  };
}

/** results.json for a submission that could not be graded at all. */
export function failedResults(message: string, maxScore = 0): Record<string, unknown> {
  return { score: 0, output: message, visibility: 'visible', tests: maxScore ? [{ name: 'submission', score: 0, max_score: maxScore, output: message, visibility: 'visible' }] : [] };
}
