/**
 * Gradients through the attention functions (tf.grad against central finite differences), and
 * the wasm data kernels (Slice/Unpack/GatherV2 replacements) against the cpu backend.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  useBackend,
  scaledDotProductAttention,
  multiHeadAttention,
  initMultiHeadParams,
  localAttention,
  sparseAttention,
  stridedPattern,
  tiledAttention,
  linearAttention,
  registerFastWasmKernels,
  onlineSoftmaxStep,
  localPAttention,
  setSplitThreshold,
  generalScores,
} from '../lib/index.js';
import { assertClose } from './helpers/kit.js';
import { flat, randn } from './helpers/attention-ref.js';

before(async () => {
  await initBackend({ prefer: 'wasm', verbose: false });
});

/**
 * Compare tf.grad of loss(x) = Σ c ⊙ f(x) with central differences (h = 1e-2) at `probes`
 * entries of x. Tolerance: |analytic − numeric| ≤ 2e-3 + 2e-2·|numeric| (float32 differences).
 */
function checkGradient(f: (x: tf.Tensor) => tf.Tensor, xArr: any, what: string, probes = 8): void {
  const x0 = tf.tensor(xArr);
  const outShape = tf.tidy(() => f(x0).shape);
  const c = tf.tensor(randn(outShape, 999));
  const loss = (x: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(f(x), c)));
  const analytic = flat(tf.tidy(() => tf.grad(loss)(x0).arraySync()));
  const base = flat(xArr);
  const h = 1e-2;
  const idx = Array.from({ length: probes }, (_, i) => Math.floor(((i + 0.5) * base.length) / probes));
  const numeric = idx.map((i) => {
    const plus = base.slice();
    const minus = base.slice();
    plus[i]! += h;
    minus[i]! -= h;
    const lp = tf.tidy(() => loss(tf.tensor(plus, x0.shape)).arraySync() as number);
    const lm = tf.tidy(() => loss(tf.tensor(minus, x0.shape)).arraySync() as number);
    return (lp - lm) / (2 * h);
  });
  assertClose(idx.map((i) => analytic[i]!), numeric, 2e-3, 2e-2, what);
  tf.dispose([x0, c]);
}

for (const [path, threshold] of [['batched products', Infinity], ['per-entry products', 0]] as const) {
  describe(path, () => {
    let previous = 0;
    before(() => {
      previous = setSplitThreshold(threshold);
    });
    after(() => {
      setSplitThreshold(previous);
    });

  describe(`gradients match finite differences (${path})`, () => {
    const k = tf.tensor(randn([2, 2, 6, 4], 2));
    const v = tf.tensor(randn([2, 2, 6, 4], 3));
    const qArr = randn([2, 2, 6, 4], 1);

    it('scaledDotProductAttention with a padding mask, causal and a bias (w.r.t. q)', () => {
      const mask = tf.tensor([[[[1, 1, 1, 1, 1, 0]]], [[[1, 1, 1, 0, 0, 0]]]]);
      const bias = tf.tensor(randn([2, 6, 6], 4));
      checkGradient((q) => scaledDotProductAttention(q, k, v, { mask, causal: true, bias }).output, qArr, 'sdpa');
      tf.dispose([mask, bias]);
    });

    it('multiHeadAttention (GQA, RoPE, causal) w.r.t. its input', () => {
      const params = initMultiHeadParams({ dModel: 8, numHeads: 4, numKvHeads: 2, seed: 7 });
      checkGradient((x) => multiHeadAttention(params, x, x, { numHeads: 4, numKvHeads: 2, causal: true, position: 'rope' }).output, randn([2, 5, 8], 5), 'mha');
      tf.dispose(Object.values(params));
    });

    it('localAttention, sparseAttention (gathers), tiledAttention, causal linearAttention (w.r.t. q)', () => {
      checkGradient((q) => localAttention(q, k, v, { window: 2, blockSize: 4 }), qArr, 'local');
      checkGradient((q) => sparseAttention(q, k, v, { mask: stridedPattern(2), blockSize: 4 }), qArr, 'sparse');
      checkGradient((q) => tiledAttention(q, k, v, { blockSize: 4, queryBlockSize: 3, causal: true }), qArr, 'tiled');
      checkGradient((q) => linearAttention(q, k, v, { causal: true, chunkSize: 4 }), qArr, 'linear');
    });

    it('a fold of onlineSoftmaxStep (the exercise building block) w.r.t. the scores', () => {
      const v2 = tf.tensor(randn([7, 3], 6));
      const fold = (s: tf.Tensor) => {
        let st = { m: tf.fill([4, 1], -Infinity), l: tf.zeros([4, 1]), acc: tf.zeros([4, 3]) };
        for (const [a, b] of [[0, 3], [3, 7]]) st = onlineSoftmaxStep(st, tf.slice(s, [0, a!], [4, b! - a!]), tf.slice(v2, [a!, 0], [b! - a!, 3]));
        return tf.div(st.acc, st.l);
      };
      checkGradient(fold, randn([4, 7], 7, 2), 'online softmax');
      v2.dispose();
    });

    it('Luong local-p: the predicted centre is trainable through the Gaussian (w.r.t. W_p)', () => {
      const q = tf.tensor(randn([5, 4], 8)), kk = tf.tensor(randn([9, 4], 9)), vv = tf.tensor(randn([9, 2], 10));
      const vp = tf.tensor(randn([3], 11));
      checkGradient((wp) => localPAttention(q, kk, vv, { wp, vp }, { window: 20 }).output, randn([4, 3], 12), 'local-p');
      tf.dispose([q, kk, vv, vp]);
    });

    it('sparseAttention w.r.t. k and v (through the gather gradient)', () => {
      const q = tf.tensor(qArr);
      checkGradient((kk) => sparseAttention(q, kk, v, { mask: stridedPattern(2), blockSize: 4 }), randn([2, 2, 6, 4], 2), 'sparse dk');
      checkGradient((vv) => sparseAttention(q, k, vv, { mask: stridedPattern(2), blockSize: 4 }), randn([2, 2, 6, 4], 3), 'sparse dv');
      q.dispose();
    });
  });
  });
}

describe('wasm data kernels (registerFastWasmKernels)', () => {
  it('slice, unstack and gather give the cpu backend’s results', async () => {
    const x = randn([3, 5, 7, 4], 40);
    const cases: [string, (t: tf.Tensor) => tf.Tensor | tf.Tensor[]][] = [
      ['slice inner', (t) => tf.slice(t, [1, 2, 0, 1], [2, 2, 7, 2])],
      ['slice rows', (t) => tf.slice(t, [0, 1, 3, 0], [3, 3, 2, 4])],
      ['slice flat', (t) => tf.slice(tf.reshape(t, [-1]), [5], [100])],
      ['unstack axis 0', (t) => tf.unstack(t)],
      ['unstack axis 2', (t) => tf.unstack(t, 2)],
      ['gather axis 2', (t) => tf.gather(t, tf.tensor1d([6, 0, 0, 3], 'int32'), 2)],
      ['gather axis 0', (t) => tf.gather(t, tf.tensor1d([2, 1], 'int32'), 0)],
      ['gather 2-D indices', (t) => tf.gather(t, tf.tensor2d([[1, 4], [0, 0]], [2, 2], 'int32'), 1)],
    ];
    const run = () => cases.map(([, f]) => tf.tidy(() => {
      const r = f(tf.tensor(x));
      return (Array.isArray(r) ? r : [r]).map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
    }));
    registerFastWasmKernels();
    const onWasm = run();
    await useBackend('cpu');
    const onCpu = run();
    await useBackend('wasm');
    cases.forEach(([name], i) => assert.deepEqual(onWasm[i], onCpu[i], name));
    assert.throws(() => tf.gather(tf.tensor(x), tf.tensor1d([5], 'int32'), 0), /index value 5/);
  });
});

describe('generalScores trains with batch axes', () => {
  it('the gradient with respect to W has W\'s shape and matches finite differences (cpu and wasm)', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend({ prefer: backend, verbose: false });
      const q = tf.tensor3d(Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i)), [2, 3, 4]);
      const k = tf.tensor3d(Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.cos(i)), [2, 5, 4]);
      const w = tf.tensor2d(Array.from({ length: 16 }, (_, i) => Math.sin(i * 0.3)), [4, 4]);
      const loss = (wt: tf.Tensor) => generalScores(q, k, wt).square().sum();
      const g = tf.grad(loss)(w);
      assert.deepEqual(g.shape, [4, 4], `${backend}: gradient shape`);
      // Central differences in float32: step 1e-2, tolerance 2e-2 relative to the gradient scale.
      const analytic = Array.from(g.dataSync());
      const base = Array.from(w.dataSync());
      const scale = Math.max(...analytic.map(Math.abs));
      for (const idx of [0, 5, 15]) {
        const plus = base.slice(); plus[idx]! += 1e-2;
        const minus = base.slice(); minus[idx]! -= 1e-2;
        const fd = (loss(tf.tensor2d(plus, [4, 4])).dataSync()[0]! - loss(tf.tensor2d(minus, [4, 4])).dataSync()[0]!) / 2e-2;
        assert.ok(Math.abs(fd - analytic[idx]!) <= 2e-2 * scale, `${backend} dW[${idx}]: ${analytic[idx]} vs ${fd}`);
      }
      tf.dispose([q, k, w, g]);
    }
  });
});
