/**
 * `attention-kit run`: real kernel, failures detected from the replies (tslab reports errors on
 * stderr and aborts the requests that follow a failure), cells named, notebooks never modified.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, executeNotebook, notebookText, runCli } from './helpers/kit.js';

function notebook(sources: string[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (attention-kit)', language: 'typescript' } },
    cells: sources.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
  });
}

// Notebooks live under notebooks/ during the test so that `import 'attention-kit'` resolves as
// it does for a learner; each test writes its own uniquely named file and removes it.
let dir: string;
function writeNotebook(name: string, sources: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, notebook(sources));
  return path;
}

describe('attention-kit run', () => {
  before(() => {
    dir = mkdtempSync(join(ROOT, 'notebooks', '.test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a good notebook, importing the kit by package name', () => {
    const path = writeNotebook('good.ipynb', [
      "import { tf, initBackend, checkShape } from 'attention-kit';\nawait initBackend({ verbose: false });\nconsole.log('backend', tf.getBackend());",
      'const doubled = tf.tensor([1, 2, 3]).mul(2);\nconsole.log(Array.from(doubled.dataSync()).join(","));',
    ]);
    const { report, executed, result } = executeNotebook(path);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.ok(report.ok);
    assert.equal(report.cells.length, 2);
    assert.ok(report.cells.every((c) => c.status === 'ok'));
    assert.match(notebookText(executed), /2,4,6/);
    assert.match(result.stdout, /✓ cell {2}1/);
  });

  it('fails on a runtime error, naming the cell and its source line, and runs nothing after it', () => {
    const path = writeNotebook('throws.ipynb', ["console.log('first')", "const x = 1;\nthrow new Error('boom in cell two');", "console.log('third')"]);
    const { report, executed, result } = executeNotebook(path);
    assert.equal(result.status, 1);
    assert.equal(report.ok, false);
    assert.equal(report.error!.cell, 2);
    assert.match(report.error!.message, /boom in cell two/);
    assert.match(report.error!.where, /line 2: throw new Error\('boom in cell two'\)/);
    assert.match(result.stdout, /✗ cell {2}2 .*boom in cell two/);
    assert.match(result.stdout, /1 later cell\(s\) not run/);
    assert.equal(report.cells.length, 2, 'the third cell must not be reported as run');
    assert.doesNotMatch(notebookText(executed), /third/);
  });

  it('fails on a TypeScript type error (reported on stderr by tslab)', () => {
    const path = writeNotebook('types.ipynb', ["const n: number = 1;\nconst s: string = n;\nconsole.log('unreachable')"]);
    const { report, result } = executeNotebook(path);
    assert.equal(result.status, 1);
    assert.match(report.error!.message, /TypeScript error at line 2: Type 'number' is not assignable to type 'string'/);
    assert.match(report.error!.where, /line 2: const s: string = n;/);
  });

  it('fails on a rejected promise awaited at top level', () => {
    const path = writeNotebook('async.ipynb', ["await new Promise((_, reject) => setTimeout(() => reject(new Error('late failure')), 50));"]);
    const { report, result } = executeNotebook(path);
    assert.equal(result.status, 1);
    assert.match(report.error!.message, /late failure/);
  });

  it('--keep-going re-sends cells the kernel aborted after a failure, so none is silently skipped', () => {
    const path = writeNotebook('keepgoing.ipynb', [
      "throw new Error('first cell fails')",
      "console.log('second ran')",
      "console.log('third ran')",
    ]);
    const out = mkdtempSync(join(tmpdir(), 'kg-'));
    const json = join(out, 'r.json');
    const result = runCli(['run', '--keep-going', '--output-dir', out, '--json', json, path]);
    assert.equal(result.status, 1);
    const report = JSON.parse(readFileSync(json, 'utf8'))[0];
    assert.deepEqual(report.cells.map((c: { status: string }) => c.status), ['error', 'ok', 'ok']);
    // tslab answers 'abort' for ~200 ms after a failure: the second cell needed re-sending.
    assert.ok(report.cells[1].aborted_retries >= 1, `expected the kernel to abort the cell at least once: ${JSON.stringify(report.cells[1])}`);
    const executed = JSON.parse(readFileSync(join(out, 'keepgoing.ipynb'), 'utf8'));
    const text = notebookText(executed);
    assert.match(text, /second ran/);
    assert.match(text, /third ran/);
  });

  it('a console.error that is not an exception does not fail the run', () => {
    const path = writeNotebook('warn.ipynb', ["console.error('just a warning'); console.log('fine')"]);
    const { report } = executeNotebook(path);
    assert.ok(report.ok);
  });

  it('times out a cell that never finishes', () => {
    const path = writeNotebook('forever.ipynb', ['await new Promise(() => {});', "console.log('not reached')"]);
    const out = mkdtempSync(join(tmpdir(), 'to-'));
    const result = runCli(['run', '--timeout', '3', '--output-dir', out, path]);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /TIMEOUT: timed out after 3 s/);
  });

  it('never writes into the notebook it ran unless --inplace', () => {
    const path = writeNotebook('untouched.ipynb', ["console.log('hello')"]);
    const hash = () => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = hash();
    assert.equal(runCli(['run', path]).status, 0);
    assert.equal(hash(), before, 'run without --inplace modified the notebook');
    assert.equal(runCli(['run', '--inplace', path]).status, 0);
    const written = JSON.parse(readFileSync(path, 'utf8'));
    assert.match(JSON.stringify(written.cells[0].outputs), /hello/);
  });

  it('a malformed notebook gets a one-line error and exit 2', () => {
    const path = join(dir, 'broken.ipynb');
    writeFileSync(path, '{"cells": [');
    const result = runCli(['run', path]);
    assert.equal(result.status, 2);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /broken\.ipynb: not a valid notebook/);
    const missing = runCli(['run', join(dir, 'nope.ipynb')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no such file/);
  });
});

describe('attention-kit doctor', () => {
  it('lists the backends, Jupyter and the kernel', () => {
    const result = runCli(['doctor', '--json']);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{')));
    const names = report.backends.map((b: { name: string }) => b.name);
    assert.deepEqual(names, ['node-gpu', 'webgpu', 'node', 'wasm', 'cpu']);
    const cpu = report.backends.find((b: { name: string }) => b.name === 'cpu');
    assert.ok(cpu.ok && cpu.matmulGflops512 > 0);
    assert.ok(report.jupyter.kernels.includes('tslab'));
    assert.ok(report.jupyter.jupyterlab);
  });
});
