/**
 * lib/train: batching, early stopping, clipping, one optimisation step, the loop, metrics.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend, Batcher, EarlyStopping, bucketedBatches, clipByGlobalNorm, globalNorm, trainStep, trainLoop, adam,
  exactMatch, charAccuracy, perplexity, natsToBits, accuracyBy, formatDuration,
} from '../lib/index.js';
import { assertClose, assertNoLeaks } from './helpers/kit.js';

before(async () => {
  await initBackend({ prefer: 'wasm', verbose: false });
});

describe('Batcher', () => {
  it('visits every item once per epoch, in a seeded order', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const b = new Batcher(items, 5, 3);
    const epoch = [...b.next(), ...b.next()].sort((x, y) => x - y);
    assert.deepEqual(epoch, items);
    assert.equal(b.epoch, 0);
    b.next();
    assert.equal(b.epoch, 1);
    const again = new Batcher(items, 5, 3);
    const other = new Batcher(items, 5, 4);
    assert.deepEqual(new Batcher(items, 5, 3).next(), again.next());
    assert.notDeepEqual(new Batcher(items, 5, 3).next(), other.next());
  });
  it('bucketedBatches: every item once, each batch from one sorted pool, seeded', () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ id: i, len: (i * 37) % 50 }));
    const batches = bucketedBatches(items, 10, (x) => x.len, 1, 5);
    assert.equal(batches.length, 100);
    assert.equal(new Set(batches.flat().map((x) => x.id)).size, 1000);
    // Within a pool of 50 sorted items, batch spread is small compared to the full range 0..49.
    const spread = batches.map((b) => Math.max(...b.map((x) => x.len)) - Math.min(...b.map((x) => x.len)));
    assert.ok(spread.reduce((a, b) => a + b, 0) / spread.length < 15, `mean spread ${spread}`);
    assert.deepEqual(bucketedBatches(items, 10, (x) => x.len, 1, 5), batches);
  });
});

describe('EarlyStopping', () => {
  it('stops after `patience` evaluations without improvement and remembers the best', () => {
    const s = new EarlyStopping({ patience: 2, mode: 'max' });
    assert.equal(s.update(0.5, 1), false);
    assert.equal(s.update(0.7, 2), false);
    assert.equal(s.update(0.6, 3), false);
    assert.equal(s.update(0.7, 4), true);
    assert.equal(s.best, 0.7);
    assert.equal(s.bestStep, 2);
  });
});

describe('clipping and one step', () => {
  it('clipByGlobalNorm scales by maxNorm/‖g‖ only when ‖g‖ > maxNorm (reference: plain arithmetic)', async () => {
    const a = tf.tensor1d([3, 0]);
    const b = tf.tensor1d([0, 4]); // global norm 5
    await assertNoLeaks(() => {
      const { grads, norm } = clipByGlobalNorm({ a, b }, 1);
      assertClose(norm.dataSync(), [5], 1e-5);
      assertClose(grads.a!.dataSync(), [0.6, 0], 1e-5);
      assertClose(grads.b!.dataSync(), [0, 0.8], 1e-5);
      tf.dispose([grads.a!, grads.b!, norm]);
      const loose = clipByGlobalNorm({ a, b }, 10);
      assertClose(loose.grads.b!.dataSync(), [0, 4], 1e-5);
      tf.dispose([loose.grads.a!, loose.grads.b!, loose.norm]);
      const g = globalNorm([a, b]);
      assertClose(g.dataSync(), [5], 1e-5);
      g.dispose();
    });
    tf.dispose([a, b]);
  });

  it('trainStep fits a least-squares line and leaks no tensor across steps', async () => {
    const w = tf.variable(tf.zeros([2, 1]));
    const x = tf.tensor2d([[1, 0], [0, 1], [1, 1], [2, 1]]);
    const y = tf.tensor2d([[2], [-1], [1], [3]]); // y = 2·x1 − x2 exactly
    const opt = adam(0.1);
    trainStep(opt, () => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tf.Scalar, { clipNorm: 5 }); // creates Adam's slots
    let last = Infinity;
    await assertNoLeaks(() => {
      for (let i = 0; i < 300; i++) last = trainStep(opt, () => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tf.Scalar, { clipNorm: 5 }).loss;
    });
    assert.ok(last < 1e-3, `loss ${last}`);
    assertClose(w.dataSync(), [2, -1], 0.05);
    opt.dispose();
    tf.dispose([w, x, y]);
  });
});

describe('trainLoop', () => {
  it('prints a bounded number of progress lines and a summary', async () => {
    const lines: string[] = [];
    const h = await trainLoop({ steps: 50, logEvery: 10, stepsPerEpoch: 20, label: 'toy', log: (l) => lines.push(l), step: (s) => 1 / (s + 1) });
    assert.equal(h.steps, 50);
    assert.equal(lines.length, 6, lines.join('\n'));
    assert.match(lines[0]!, /^\[toy\] epoch 1 · step 10\/50 · loss \d\.\d{4} · [\d.]+ steps\/s · \d+:\d\d left$/);
    assert.match(lines[5]!, /trained 50 steps/);
    assert.equal(h.stoppedBecause, 'done');
  });
  it('stops early when the metric stops improving, and at a target', async () => {
    const values = [0.5, 0.6, 0.6, 0.6, 0.6, 0.6];
    let i = 0;
    const h = await trainLoop({ steps: 100, logEvery: 0, log: () => {}, step: () => 0, evaluate: { every: 10, mode: 'max', patience: 2, fn: () => values[i++]! } });
    assert.equal(h.stoppedBecause, 'early-stopping');
    assert.equal(h.steps, 40);
    const t = await trainLoop({ steps: 100, logEvery: 0, log: () => {}, step: () => 0, evaluate: { every: 10, mode: 'max', target: 0.9, fn: () => 0.95 } });
    assert.equal(t.stoppedBecause, 'target');
    assert.equal(t.steps, 10);
  });
  it('formatDuration', () => {
    assert.equal(formatDuration(65.2), '1:05');
    assert.equal(formatDuration(Infinity), '?');
  });
});

describe('metrics', () => {
  it('exact match, per-character accuracy, perplexity, accuracy by key', () => {
    assert.equal(exactMatch(['a', 'b', 'c', 'd'], ['a', 'b', 'x', 'd']), 0.75);
    // "2021-09-03" vs "2021-09-08": 9 of 10; "12" vs "123": 2 of 3.
    assertClose([charAccuracy(['2021-09-03', '12'], ['2021-09-08', '123'])], [11 / 13], 1e-12);
    assertClose([perplexity(Math.log(7))], [7], 1e-12);
    assertClose([natsToBits(Math.LN2)], [1], 1e-12);
    assert.deepEqual(accuracyBy([10, 5, 10, 5], [true, false, false, false]), [
      { key: 5, accuracy: 0, count: 2 },
      { key: 10, accuracy: 0.5, count: 2 },
    ]);
  });
});
