/**
 * `attention-kit check`: the visible tests pass on an instructor's notebook and fail, with the
 * "not implemented yet" hint, on the untouched exercise. Also the kit's visible-test helpers.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import * as tf from '@tensorflow/tfjs';
import { ROOT, runCli } from './helpers/kit.js';
import { readNotebook, sourceOf } from '../cli/grader/notebook.js';
import { releaseNotebook } from '../cli/grader/release.js';
import { initBackend } from '../lib/backend.js';
import { CheckFailure, check, expectClose, expectShape, toShapeAndValues } from '../lib/testing.js';

before(async () => {
  await initBackend({ prefer: 'cpu', verbose: false });
});

test('expectClose and expectShape say what was expected and what was received', () => {
  expectClose(tf.tensor2d([[1, 2]]), [[1, 2.00001]]);
  assert.throws(() => expectClose(tf.tensor2d([[1, 2]]), [[1, 2, 3]]), /expected shape \[1, 3\], received \[1, 2\]/);
  assert.throws(() => expectClose([1, NaN], [1, 2]), (e: unknown) => e instanceof CheckFailure && /element 1 is NaN, expected 2/.test(e.message));
  assert.throws(() => expectShape(undefined, [2]), /undefined \(did the function return anything\?\)/);
  assert.throws(() => toShapeAndValues([[1, 2], [3]]), /ragged/);
  assert.deepEqual(toShapeAndValues(tf.zeros([2, 0])).shape, [2, 0]);
});

test('check prints ✓/✗ and throws on failure, with a hint for unimplemented stubs', async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await check('passes', () => expectClose(tf.scalar(1), 1));
    await assert.rejects(
      check('stub', () => {
        throw new Error('not implemented yet: f');
      }),
      /check failed: stub/,
    );
  } finally {
    console.log = log;
  }
  assert.equal(lines[0], '✓ passes');
  assert.match(lines[1]!, /^✗ stub\n {4}not implemented yet: f \(write your code in the cell above, then run it\)$/);
});

test('attention-kit check: visible tests pass on the solution and fail on the stubs', { timeout: 300_000 }, () => {
  const good = runCli(['check', 'solutions/ex10-causal-mask.ipynb']);
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /✓ causal_mask \(2 points\)/);
  assert.match(good.stdout, /visible tests: 1\/1 parts pass/);
  const stub = runCli(['check', 'exercises/ex10-causal-mask.ipynb']);
  assert.equal(stub.status, 1, stub.stdout + stub.stderr);
  assert.match(stub.stdout, /✗ causal_mask[\s\S]*not implemented yet: causalMaskByHand/);
  assert.match(stub.stdout, /visible tests: 0\/1 parts pass/);
});

test('every solutions/ and exercises/ notebook type-checks as tslab compiles it (all cells, one module)', () => {
  // tslab compiles each notebook non-strict, with the kit resolved by package name.
  const dir = mkdtempSync(join(tmpdir(), 'nb-typecheck-'));
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const files: string[] = [];
    for (const name of readdirSync(join(ROOT, 'solutions')).filter((f) => f.endsWith('.ipynb'))) {
      const solution = readNotebook(join(ROOT, 'solutions', name));
      for (const [kind, nb] of [['solution', solution], ['exercise', releaseNotebook(solution, name)]] as const) {
        const code = nb.cells.filter((c) => c.cell_type === 'code').map(sourceOf).join('\n;\n');
        const file = join(dir, `${kind}-${name.replace('.ipynb', '')}.ts`);
        writeFileSync(file, code + '\nexport {};\n');
        files.push(file);
      }
    }
    const program = ts.createProgram(files, {
      strict: false,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      skipLibCheck: true,
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(d.file.fileName))
      .map((d) => `${d.file!.fileName.split('/').pop()}:${d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    assert.deepEqual(errors, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
