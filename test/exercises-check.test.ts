/**
 * `attention-kit check`: the visible tests pass on an instructor's notebook and fail, with the
 * "not implemented yet" hint, on the untouched exercise. Also the kit's visible-test helpers.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { runCli } from './helpers/kit.js';
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
