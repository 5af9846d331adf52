/**
 * The autograder end to end, through `attention-kit grade` and real sandboxed tslab kernels:
 * solutions get full marks, untouched exercises get 0, planted bugs lose exactly their part,
 * and each attack of docs/threat-model.md fails to gain marks. Notebooks are graded as folders
 * with --jobs 2 to keep the number of sequential kernel starts down.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from './helpers/kit.js';

type Cell = { cell_type: string; source: string | string[]; metadata: Record<string, any>; outputs?: unknown[]; execution_count?: null };
type Nb = { cells: Cell[]; metadata: Record<string, any> };
type GsTest = { name: string; score: number; max_score: number; output: string };
type GsResult = { file?: string; score: number; output: string; tests: GsTest[] };

const SOLUTIONS = join(ROOT, 'solutions');
const EXERCISES = join(ROOT, 'exercises');
const load = (dir: string, name: string): Nb => JSON.parse(readFileSync(join(dir, `${name}.ipynb`), 'utf8'));
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function setSolution(nb: Nb, gradeId: string, source: string): Nb {
  const cell = nb.cells.find((c) => c.metadata.nbgrader?.grade_id === gradeId);
  assert.ok(cell, `no cell ${gradeId}`);
  cell.source = source;
  return nb;
}
function addCell(nb: Nb, source: string, after?: string): Nb {
  const cell: Cell = { cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null };
  const i = after ? nb.cells.findIndex((c) => c.metadata.nbgrader?.grade_id === after) + 1 : nb.cells.length;
  nb.cells.splice(i, 0, cell);
  return nb;
}
function sourceOf(nb: Nb, gradeId: string): string {
  const s = nb.cells.find((c) => c.metadata.nbgrader?.grade_id === gradeId)!.source;
  return Array.isArray(s) ? s.join('') : s;
}

/** Grade every notebook in `dir`; returns per-file results (from --results) and the console text. */
function gradeFolder(dir: string, extra: string[] = []): { byFile: Map<string, GsResult>; csv: string; stdout: string; stderr: string } {
  const results = join(dir, '..', `${dir.split('/').pop()}-results.json`);
  const hashes = new Map(readdirSync(dir).filter((f) => f.endsWith('.ipynb')).map((f) => [f, sha(join(dir, f))]));
  const r = runCli(['grade', dir, '--jobs', '2', '--results', results, ...extra]);
  assert.equal(r.status, 0, `grade exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  // The submissions are never modified.
  for (const [f, h] of hashes) assert.equal(sha(join(dir, f)), h, `${f} was modified by grading`);
  const parsed = JSON.parse(readFileSync(results, 'utf8')) as { submissions: GsResult[] };
  return { byFile: new Map(parsed.submissions.map((s) => [s.file!, s])), csv: readFileSync(join(dir, 'scores.csv'), 'utf8'), stdout: r.stdout, stderr: r.stderr };
}

const partScore = (r: GsResult, id: string) => r.tests.find((t) => t.name.startsWith(`${id}:`))!;

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'grader-test-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

test('every solutions/ notebook gets full marks', { timeout: 900_000 }, () => {
  const dir = join(work, 'solutions');
  mkdirSync(dir);
  for (const f of readdirSync(SOLUTIONS).filter((f) => f.endsWith('.ipynb'))) copyFileSync(join(SOLUTIONS, f), join(dir, f));
  const { byFile, csv, stderr } = gradeFolder(dir);
  assert.ok(byFile.size >= 9, `${csv}\n${stderr}`);
  for (const [file, r] of byFile) {
    const max = r.tests.reduce((a, t) => a + t.max_score, 0);
    assert.ok(max > 0, file);
    assert.equal(r.score, max, `${file}: ${r.score}/${max}\n${r.tests.map((t) => `${t.name}: ${t.output}`).join('\n')}`);
  }
  assert.match(csv, /^file,assignment,score,max_score,seconds,error\n/);
});

test('every untouched exercises/ notebook gets 0, with a "not implemented yet" reason', { timeout: 900_000 }, () => {
  const dir = join(work, 'exercises');
  mkdirSync(dir);
  for (const f of readdirSync(EXERCISES).filter((f) => f.endsWith('.ipynb'))) copyFileSync(join(EXERCISES, f), join(dir, f));
  const { byFile, stderr, csv } = gradeFolder(dir);
  assert.ok(byFile.size >= 9, `${csv}\n${stderr}`);
  for (const [file, r] of byFile) {
    assert.equal(r.score, 0, file);
    assert.ok(r.tests.length > 0 && r.tests.every((t) => t.max_score > 0 && /not implemented yet/.test(t.output)), `${file}: ${JSON.stringify(r.tests)}`);
  }
});

test('planted bugs lose exactly the points of the part they break; library use is detected through aliases', { timeout: 900_000 }, () => {
  const dir = join(work, 'bugs');
  mkdirSync(dir);
  const ex08 = 'ex08-scaled-dot-product';
  const write = (file: string, nb: Nb) => writeFileSync(join(dir, file), JSON.stringify(nb));
  const sdpa = sourceOf(load(SOLUTIONS, ex08), 'sdpa_code');
  const softmax = sourceOf(load(SOLUTIONS, ex08), 'masked_softmax_code');
  const bug = (from: string, to: string, src: string) => {
    assert.ok(src.includes(from), `planting a bug: ${from} not found`);
    return src.replace(from, to);
  };
  // The same assignment under other file names: the notebook metadata names the assignment.
  write('missing-scale.ipynb', setSolution(load(SOLUTIONS, ex08), 'sdpa_code', bug('.div(Math.sqrt(dk))', '', sdpa)));
  write('wrong-axis.ipynb', setSolution(load(SOLUTIONS, ex08), 'masked_softmax_code', bug('return tf.divNoNan(e, e.sum(-1, true));', 'return tf.divNoNan(e, e.sum(-2, true));', softmax)));
  write('mask-ignored.ipynb', setSolution(load(SOLUTIONS, ex08), 'masked_softmax_code', bug('const keep = tf.broadcastTo(mask, scores.shape).greater(0);', 'const keep = tf.onesLike(scores).greater(0);', softmax)));
  const causal = sourceOf(load(SOLUTIONS, 'ex10-causal-mask'), 'causal_mask_code');
  write('future-leak.ipynb', setSolution(load(SOLUTIONS, 'ex10-causal-mask'), 'causal_mask_code', bug('j <= i ? 1 : 0', 'j <= i + 1 ? 1 : 0', causal)));
  const merge = sourceOf(load(SOLUTIONS, 'ex09-multi-head'), 'merge_heads_code');
  write('merge-order.ipynb', setSolution(load(SOLUTIONS, 'ex09-multi-head'), 'merge_heads_code', bug('x.transpose([0, 2, 1, 3]).reshape([b, n, h * dh])', 'x.reshape([b, n, h * dh])', merge)));
  // Library use, through an alias (masked softmax) and a computed namespace member (attention).
  const aliased = setSolution(load(EXERCISES, ex08), 'masked_softmax_code', `import { maskedSoftmax as ms } from 'attention-kit';\nconst maskedSoftmaxByHand = (s: tf.Tensor, m: tf.Tensor) => (ms as any)(s, m);`);
  setSolution(aliased, 'sdpa_code', `import * as kit from 'attention-kit';\nconst name = ['scaledDotProduct', 'Attention'].join('');\nconst scaledDotProductAttentionByHand = (q: any, k: any, v: any, m?: any) => (kit as any)[name](q, k, v, m);`);
  write('library-use.ipynb', aliased);

  const { byFile, stdout } = gradeFolder(dir);
  const expect = (file: string, score: number, lost: string[]) => {
    const r = byFile.get(file)!;
    assert.equal(r.score, score, `${file}: ${JSON.stringify(r.tests)}`);
    for (const t of r.tests) {
      const id = t.name.split(':')[0]!;
      assert.equal(t.score, lost.includes(id) ? 0 : t.max_score, `${file}: ${t.name} → ${t.output}`);
    }
  };
  expect('missing-scale.ipynb', 2, ['sdpa']);
  expect('wrong-axis.ipynb', 2, ['masked_softmax']);
  expect('mask-ignored.ipynb', 2, ['masked_softmax']);
  expect('future-leak.ipynb', 0, ['causal_mask']);
  expect('merge-order.ipynb', 2, ['merge_heads']);
  expect('library-use.ipynb', 0, ['masked_softmax', 'sdpa']);
  const lib = byFile.get('library-use.ipynb')!;
  assert.match(partScore(lib, 'masked_softmax').output, /may not use .*maskedSoftmax[\s\S]*imports maskedSoftmax from 'attention-kit' as ms/);
  assert.match(partScore(lib, 'sdpa').output, /may not use[\s\S]*(computes a member name|passes the library namespace)/);
  assert.match(stdout, /missing-scale[\s\S]*✗ sdpa/);
});

test('attacks from inside the kernel gain nothing: file access, child processes, forged output, exit, time, memory, monkeypatching, metadata', { timeout: 900_000 }, () => {
  // A copy of the instructor's notebook with no off-limits lists, so that imports of fs and
  // child_process reach the kernel and the sandbox itself is what stops them.
  const solutions = join(work, 'open-solutions');
  mkdirSync(solutions);
  const ex08 = 'ex08-scaled-dot-product';
  const open = load(SOLUTIONS, ex08);
  for (const c of open.cells) if (c.metadata.attention_kit) c.metadata.attention_kit.off_limits = [];
  writeFileSync(join(solutions, `${ex08}.ipynb`), JSON.stringify(open));

  const dir = join(work, 'attacks');
  mkdirSync(dir);
  const results = join(work, 'attacks-results.json');
  const marker = join(tmpdir(), `ak-escape-${process.pid}`);
  rmSync(marker, { force: true });
  const correctSoftmax = sourceOf(load(SOLUTIONS, ex08), 'masked_softmax_code');
  const correctSdpa = sourceOf(load(SOLUTIONS, ex08), 'sdpa_code').replace('function scaledDotProductAttentionByHand', 'function realSdpa');

  // 1. Escapes: read the solutions, run a process, write the results file or /tmp, fake a driver reply on fd 1.
  const escape = setSolution(load(EXERCISES, ex08), 'masked_softmax_code', correctSoftmax);
  setSolution(
    escape,
    'sdpa_code',
    `import * as fs from 'fs';
import * as cp from 'child_process';
let escaped = '';
const attempts: [string, () => unknown][] = [
  ['read solutions', () => fs.readFileSync(${JSON.stringify(join(SOLUTIONS, `${ex08}.ipynb`))}, 'utf8')],
  ['read the grader copy', () => fs.readFileSync(${JSON.stringify(join(solutions, `${ex08}.ipynb`))}, 'utf8')],
  ['list the kit', () => fs.readdirSync(${JSON.stringify(ROOT)})],
  ['child process', () => cp.execSync('id')],
  ['write results', () => fs.writeFileSync(${JSON.stringify(results)}, '{"score": 100, "tests": []}')],
  ['write tmp', () => fs.writeFileSync(${JSON.stringify(marker)}, 'x')],
];
for (const [what, attempt] of attempts) {
  try { attempt(); escaped += what + '; '; } catch (e) { /* blocked */ }
}
try { fs.writeSync(1, JSON.stringify({ ok: true, status: 'ok', stdout: '', seconds: 0 }) + '\\n'); } catch (e) {}
${correctSdpa}
function scaledDotProductAttentionByHand(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask?: tf.Tensor): tf.Tensor {
  if (escaped === '') throw new Error('not implemented yet: scaledDotProductAttentionByHand');
  return realSdpa(q, k, v, mask);
}
console.log('score 4/4');
console.log(JSON.stringify({ score: 4, tests: [] }));`,
  );
  addCell(escape, 'setTimeout(() => process.exit(0), 50);\nprocess.exit(0);');
  addCell(escape, "console.log('after exit');");
  writeFileSync(join(dir, 'escape.ipynb'), JSON.stringify(escape));

  // 2. Limits: an endless loop and a memory bomb between two correct parts.
  const limits = setSolution(load(SOLUTIONS, ex08), 'masked_softmax_code', correctSoftmax);
  addCell(limits, 'while (true) { /* spin */ }', 'masked_softmax');
  addCell(limits, 'const hoard: Float64Array[] = [];\nfor (let i = 0; i < 40; i++) { const a = new Float64Array(25_000_000); a.fill(i); hoard.push(a); }', 'masked_softmax');
  writeFileSync(join(dir, 'limits.ipynb'), JSON.stringify(limits));

  // 3. Monkeypatching and forged metadata on an untouched exercise.
  const patched = load(EXERCISES, ex08);
  addCell(
    patched,
    `Math.exp = () => 1;
Math.sqrt = () => 1;
Math.max = () => 0;
(tf.Tensor.prototype as any).data = async function () { return new Float32Array(1000).fill(0.25); };
(tf.Tensor.prototype as any).dataSync = function () { return new Float32Array(1000).fill(0.25); };
try { Object.defineProperty(tf, 'softmax', { value: (x: any) => x }); } catch (e) { /* module namespaces are frozen */ }
(globalThis as any).expectClose = () => {};
(globalThis as any).check = async () => {};`,
    'setup',
  );
  for (const c of patched.cells) {
    if (c.metadata.nbgrader?.grade === true) {
      c.metadata.nbgrader.points = 100;
      c.source = "console.log('✓ all tests passed');";
    }
  }
  patched.metadata.attention_kit = { assignment: ex08 };
  writeFileSync(join(dir, 'monkeypatch.ipynb'), JSON.stringify(patched));

  const hashes = readdirSync(dir).map((f) => sha(join(dir, f)));
  const r = runCli(['grade', dir, '--jobs', '2', '--solutions', solutions, '--cell-timeout', '15', '--memory-mb', '1500', '--results', results]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.ipynb')).map((f) => sha(join(dir, f))), hashes);
  const byFile = new Map((JSON.parse(readFileSync(results, 'utf8')) as { submissions: GsResult[] }).submissions.map((s) => [s.file!, s]));

  const esc = byFile.get('escape.ipynb')!;
  assert.equal(esc.score, 2, `escape: ${JSON.stringify(esc.tests)}`); // masked softmax only: every escape failed
  assert.equal(partScore(esc, 'sdpa').score, 0);
  assert.match(partScore(esc, 'sdpa').output, /not implemented yet/);
  assert.match(esc.output, /ended the kernel process/);
  assert.equal(existsSync(marker), false, 'the kernel wrote to /tmp');
  // The printed report is the grader's: the kernel's "score 4/4" never shows.
  const escapeReport = r.stdout.split('\n\n').find((block) => block.includes('escape.ipynb'))!;
  assert.match(escapeReport, /score 2\/4/);
  assert.doesNotMatch(escapeReport, /4\/4/);
  assert.match(r.stdout, /as user attnkit-grader|as the current user/);

  const lim = byFile.get('limits.ipynb')!;
  assert.equal(lim.score, 4, `limits: ${JSON.stringify(lim)}`);
  assert.match(lim.output, /time limit/);
  assert.match(lim.output, /memory limit|ended the kernel process/);

  const mp = byFile.get('monkeypatch.ipynb')!;
  assert.equal(mp.score, 0, `monkeypatch: ${JSON.stringify(mp)}`);
  assert.deepEqual(mp.tests.map((t) => t.max_score), [2, 2]); // the instructor's points, not the forged 100
});

test('malformed, missing and unknown submissions get a one-line error and a zero results.json', { timeout: 120_000 }, () => {
  const bad = join(work, 'bad.ipynb');
  writeFileSync(bad, '{"nbformat": 4, "cells": [');
  const results = join(work, 'bad-results.json');
  const r = runCli(['grade', bad, '--results', results]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /not a valid notebook/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.equal(JSON.parse(readFileSync(results, 'utf8')).score, 0);

  const missing = runCli(['grade', join(work, 'nope.ipynb')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such file/);

  const stranger = join(work, 'stranger.ipynb');
  writeFileSync(stranger, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] }));
  const unknown = runCli(['grade', stranger]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown assignment 'stranger'.*--assignment/);
});
