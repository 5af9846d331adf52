/**
 * The contract of lib/attention: maskedSoftmax, scaledDotProductAttention, multiHeadAttention,
 * splitHeads/mergeHeads, applyRope, tiledAttention — each against plain-loop references
 * (test/helpers/attention-ref.ts), closed forms, finite differences and invariants.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  maskedSoftmax,
  scaledDotProductAttention,
  multiHeadAttention,
  initMultiHeadParams,
  splitHeads,
  mergeHeads,
  applyRope,
  tiledAttention,
  causalMask,
  paddingMask,
  attentionOutput,
  onlineSoftmaxStep,
  mergeAttentionBlock,
  setSplitThreshold,
} from '../lib/index.js';
import { assertClose, assertNoLeaks } from './helpers/kit.js';
import { flat, naiveAttention, randn, softmaxRow, dot, type Mat } from './helpers/attention-ref.js';

before(async () => {
  await initBackend({ prefer: 'wasm', verbose: false });
});

describe('maskedSoftmax', () => {
  it('matches a loop softmax with a broadcast mask (atol 1e-6)', async () => {
    const scores = randn([2, 3, 5], 1, 3);
    const maskRows = [[1, 0, 1, 1, 0], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]]; // [3, 5], broadcast over batch
    const got = await assertNoLeaks(() => tf.tidy(() => maskedSoftmax(tf.tensor(scores), tf.tensor(maskRows)).arraySync() as number[][][]));
    const want = scores.map((b: Mat) => b.map((row, i) => softmaxRow(row, maskRows[i]!.map((m) => m === 1))));
    assertClose(flat(got), flat(want), 1e-6);
  });

  it('without a mask is the plain softmax; boolean masks work too (atol 1e-6)', () => {
    const scores = randn([4, 6], 2);
    const got = tf.tidy(() => maskedSoftmax(tf.tensor(scores)).arraySync() as Mat);
    assertClose(flat(got), flat(scores.map((r: number[]) => softmaxRow(r))), 1e-6);
    const boolMask = [true, false, true, true, false, true];
    const got2 = tf.tidy(() => maskedSoftmax(tf.tensor(scores), tf.tensor(boolMask, [6], 'bool')).arraySync() as Mat);
    assertClose(flat(got2), flat(scores.map((r: number[]) => softmaxRow(r, boolMask))), 1e-6);
  });

  it('fully masked rows give exact zeros, in the value and the gradient (no NaN)', () => {
    const s = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const m = tf.tensor2d([[1, 1, 0], [0, 0, 0]]);
    const w = maskedSoftmax(s, m).arraySync() as Mat;
    assert.deepEqual(w[1], [0, 0, 0]);
    assert.ok(Math.abs(w[0]![0]! + w[0]![1]! - 1) < 1e-6 && w[0]![2] === 0);
    const c = tf.tensor2d([[1, -2, 3], [0.5, 1, -1]]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(maskedSoftmax(x, m), c)))(s).arraySync() as Mat;
    assert.ok(flat(g).every(Number.isFinite), `gradient has NaN: ${JSON.stringify(g)}`);
    assertClose(g[1]!, [0, 0, 0], 0, 0, 'gradient of the fully masked row');
    assert.equal(Math.abs(g[0]![2]!), 0, 'masked entry gets no gradient');
    tf.dispose([s, m, c]);
  });

  it('is stable for logits of ±1e4 (closed form: one-hot / two-way split, atol 1e-6)', () => {
    const s = tf.tensor2d([[1e4, -1e4, 0], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]]);
    const w = flat(maskedSoftmax(s, tf.ones([3, 3])).arraySync());
    assertClose(w, [1, 0, 0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3], 1e-6);
    const w2 = flat(maskedSoftmax(s).arraySync());
    assertClose(w2, [1, 0, 0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3], 1e-6);
    s.dispose();
  });

  it('gradient matches central finite differences (h = 1e-2, atol 2e-3)', () => {
    const sArr = randn([3, 4], 3) as Mat;
    const mask = tf.tensor2d([[1, 1, 0, 1], [1, 0, 0, 0], [1, 1, 1, 1]]);
    const c = tf.tensor2d(randn([3, 4], 4));
    const loss = (x: tf.Tensor) => tf.sum(tf.mul(maskedSoftmax(x, mask), c));
    const analytic = flat(tf.grad(loss)(tf.tensor2d(sArr)).arraySync());
    const h = 1e-2;
    const numeric: number[] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const plus = sArr.map((r) => r.slice());
        const minus = sArr.map((r) => r.slice());
        plus[i]![j]! += h;
        minus[i]![j]! -= h;
        numeric.push(((loss(tf.tensor2d(plus)).arraySync() as number) - (loss(tf.tensor2d(minus)).arraySync() as number)) / (2 * h));
      }
    }
    assertClose(analytic, numeric, 2e-3);
    tf.dispose([mask, c]);
  });

  it('rejects a mask that does not broadcast, naming both shapes', () => {
    assert.throws(() => maskedSoftmax(tf.zeros([2, 3, 4]), tf.ones([3, 5])), /mask \[3, 5\] does not broadcast to scores \[2, 3, 4\]/);
  });
});

// On wasm, big per-head products run as separate 2-D matmuls and small ones batched
// (splitBatches); run these tests on both code paths.
for (const [path, threshold] of [['batched products', Infinity], ['per-entry products', 0]] as const) {
  describe(path, () => {
    let previous = 0;
    before(() => {
      previous = setSplitThreshold(threshold);
    });
    after(() => {
      setSplitThreshold(previous);
    });

  describe(`scaledDotProductAttention (${path})`, () => {
    const B = 2, NQ = 4, NK = 6, D = 8, DV = 5;
    const q = randn([B, NQ, D], 10);
    const k = randn([B, NK, D], 11);
    const v = randn([B, NK, DV], 12);

    it('matches the loop reference, batched (atol 1e-5)', async () => {
      const { output, weights } = await assertNoLeaks(() =>
        tf.tidy(() => {
          const r = scaledDotProductAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v));
          return { output: r.output.arraySync(), weights: r.weights.arraySync() };
        }),
      );
      for (let b = 0; b < B; b++) {
        const ref = naiveAttention(q[b], k[b], v[b]);
        assertClose(flat((output as number[][][])[b]), flat(ref.output), 1e-5, 0, 'output');
        assertClose(flat((weights as number[][][])[b]), flat(ref.weights), 1e-6, 0, 'weights');
      }
    });

    it('applies mask, causal (aligned to the end for nq < nk) and scale (atol 1e-5)', () => {
      const padMask = [[1, 1, 1, 1, 0, 0]]; // [1, 6]
      const r = tf.tidy(() => {
        const out = scaledDotProductAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask: tf.tensor(padMask), causal: true, scale: 0.3 });
        return { o: out.output.arraySync() as number[][][], w: out.weights.arraySync() as number[][][] };
      });
      for (let b = 0; b < B; b++) {
        const ref = naiveAttention(q[b], k[b], v[b], { scale: 0.3, allowed: (i, j) => padMask[0]![j] === 1 && j <= i + (NK - NQ) });
        assertClose(flat(r.o[b]), flat(ref.output), 1e-5);
        assertClose(flat(r.w[b]), flat(ref.weights), 1e-6);
      }
    });

    it('causal: output at position i is unchanged when tokens after i change', () => {
      const n = 7;
      const x1 = randn([1, n, D], 20);
      const x2 = x1.map((seq: Mat) => seq.map((row, i) => (i > 3 ? row.map((t) => t + 5) : row)));
      const run = (x: Mat[]) => tf.tidy(() => {
        const t = tf.tensor(x);
        return scaledDotProductAttention(t, t, t, { causal: true }).output.arraySync() as number[][][];
      });
      const a = run(x1);
      const b = run(x2);
      for (let i = 0; i <= 3; i++) assertClose(a[0]![i]!, b[0]![i]!, 1e-6, 0, `position ${i}`);
      assert.ok(Math.abs(a[0]![5]![0]! - b[0]![5]![0]!) > 1e-3, 'later positions do change');
    });

    it('weights rows sum to 1 and fully masked rows give zero output', () => {
      const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1]]);
      const r = tf.tidy(() => {
        const out = scaledDotProductAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask });
        return { o: out.output.arraySync() as number[][][], w: out.weights.arraySync() as number[][][] };
      });
      assertClose(r.o[0]![1]!, [0, 0, 0, 0, 0], 0);
      assertClose(r.o[1]![2]!, v[1][0], 1e-6);
      assertClose(r.w[0]!.map((row) => row.reduce((s, x) => s + x, 0)), [1, 0, 1, 1], 1e-6);
      mask.dispose();
    });

    it('attentionOutput equals the output of scaledDotProductAttention (mask, bias, causal; atol 1e-6)', async () => {
      const bias = tf.tensor(randn([NQ, NK], 13));
      const mask = tf.tensor([[1, 1, 0, 1, 1, 1]]);
      await assertNoLeaks(() => {
        for (const opts of [{}, { mask, causal: true }, { bias, scale: 0.5 }]) {
          const a = tf.tidy(() => attentionOutput(tf.tensor(q), tf.tensor(k), tf.tensor(v), opts).arraySync());
          const b = tf.tidy(() => scaledDotProductAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), opts).output.arraySync());
          assertClose(flat(a), flat(b), 1e-6);
        }
      });
      tf.dispose([bias, mask]);
    });

    it('a per-batch padding mask [b, 1, 1, nk] masks each sequence separately (loop reference, atol 1e-5)', () => {
      const q4 = randn([2, 3, NQ, D], 14), k4 = randn([2, 3, NK, D], 15), v4 = randn([2, 3, NK, DV], 16);
      const lengths = [6, 2];
      const mask = paddingMask(lengths, NK);
      const got = tf.tidy(() => scaledDotProductAttention(tf.tensor(q4), tf.tensor(k4), tf.tensor(v4), { mask }).output.arraySync()) as number[][][][];
      for (let b = 0; b < 2; b++) for (let h = 0; h < 3; h++) {
        const ref = naiveAttention(q4[b][h], k4[b][h], v4[b][h], { allowed: (_i, j) => j < lengths[b]! });
        assertClose(flat(got[b]![h]), flat(ref.output), 1e-5, 0, `batch ${b} head ${h}`);
      }
      mask.dispose();
    });

    it('throws on mismatched shapes, naming them', () => {
      assert.throws(
        () => scaledDotProductAttention(tf.zeros([2, 10, 64]), tf.zeros([2, 10, 32]), tf.zeros([2, 10, 32])),
        /expected keys \[\.\.\., nk, dk\] with dk=64, got \[2, 10, 32\]/,
      );
      assert.throws(() => scaledDotProductAttention(tf.zeros([2, 4, 8]), tf.zeros([2, 6, 8]), tf.zeros([2, 5, 8])), /values.*got \[2, 5, 8\]/);
    });
  });

  describe(`splitHeads / mergeHeads / multiHeadAttention (${path})`, () => {
    it('splitHeads puts features h·d … h·d+d−1 in head h; mergeHeads inverts it', () => {
      const x = randn([2, 3, 6], 30);
      const s = tf.tidy(() => splitHeads(tf.tensor(x), 3).arraySync() as number[][][][]);
      for (let b = 0; b < 2; b++) for (let h = 0; h < 3; h++) for (let n = 0; n < 3; n++) assert.deepEqual(s[b]![h]![n], x[b][n].slice(h * 2, h * 2 + 2).map((t: number) => Math.fround(t)));
      const back = tf.tidy(() => mergeHeads(splitHeads(tf.tensor(x), 3)).arraySync());
      assertClose(flat(back), flat(x).map(Math.fround), 0);
      assert.throws(() => splitHeads(tf.zeros([2, 3, 7]), 3), /\[2, 3, 7\]/);
    });

    /** Loop reference for MHA: per head, the head's slices of the projections. */
    function naiveMha(p: Record<string, Mat | number[]>, xq: Mat, xkv: Mat, h: number, hkv: number, causal: boolean): { out: Mat; weights: Mat[] } {
      const wq = p.wq as Mat, wk = p.wk as Mat, wv = p.wv as Mat, wo = p.wo as Mat;
      const proj = (x: Mat, w: Mat) => x.map((row) => w[0]!.map((_, c) => row.reduce((s, xi, t) => s + xi * w[t]![c]!, 0)));
      const Q = proj(xq, wq), K = proj(xkv, wk), V = proj(xkv, wv);
      const dh = wq[0]!.length / h;
      const heads: Mat[] = [];
      const weights: Mat[] = [];
      for (let i = 0; i < h; i++) {
        const g = Math.floor((i * hkv) / h);
        const cols = (M: Mat, head: number) => M.map((row) => row.slice(head * dh, head * dh + dh));
        const r = naiveAttention(cols(Q, i), cols(K, g), cols(V, g), { allowed: causal ? (a, b) => b <= a + xkv.length - xq.length : undefined });
        heads.push(r.output);
        weights.push(r.weights);
      }
      const concat = xq.map((_, n) => heads.flatMap((hd) => hd[n]!));
      return { out: proj(concat, wo), weights };
    }

    const arrays = (p: Record<string, tf.Tensor | undefined>) =>
      Object.fromEntries(Object.entries(p).filter(([, t]) => t).map(([name, t]) => [name, t!.arraySync() as Mat]));

    for (const [h, hkv] of [[4, 4], [4, 2], [4, 1]] as const) {
      it(`matches a per-head loop reference, numHeads=${h}, numKvHeads=${hkv}, causal self + cross (atol 1e-5)`, async () => {
        const params = initMultiHeadParams({ dModel: 8, numHeads: h, numKvHeads: hkv, seed: 5 });
        const xq = randn([2, 3, 8], 40);
        const xkv = randn([2, 5, 8], 41);
        await assertNoLeaks(() => {
          const got = tf.tidy(() => {
            const r = multiHeadAttention(params, tf.tensor(xq), tf.tensor(xkv), { numHeads: h, numKvHeads: hkv });
            const s = multiHeadAttention(params, tf.tensor(xkv), tf.tensor(xkv), { numHeads: h, numKvHeads: hkv, causal: true });
            return { cross: r.output.arraySync() as number[][][], w: r.weights.arraySync() as number[][][][], self: s.output.arraySync() as number[][][], shape: r.weights.shape };
          });
          assert.deepEqual(got.shape, [2, h, 3, 5]);
          const p = arrays(params as unknown as Record<string, tf.Tensor>);
          for (let b = 0; b < 2; b++) {
            const ref = naiveMha(p, xq[b], xkv[b], h, hkv, false);
            assertClose(flat(got.cross[b]), flat(ref.out), 1e-5, 0, 'cross output');
            assertClose(flat(got.w[b]), flat(ref.weights), 1e-6, 0, 'weights');
            const refSelf = naiveMha(p, xkv[b], xkv[b], h, hkv, true);
            assertClose(flat(got.self[b]), flat(refSelf.out), 1e-5, 0, 'causal self output');
          }
        });
        tf.dispose(Object.values(params));
      });
    }

    it('MQA/GQA with copied K/V heads equals MHA (atol 1e-6)', () => {
      const dModel = 8, h = 4, hkv = 2, dh = 2;
      const gqa = initMultiHeadParams({ dModel, numHeads: h, numKvHeads: hkv, seed: 9 });
      // Copy K/V head g into heads 2g and 2g+1 of a full MHA.
      const copyCols = (w: tf.Tensor) => tf.tidy(() => {
        const heads = tf.split(w, hkv, 1);
        return tf.concat(heads.flatMap((x) => [x, x]), 1);
      });
      const mha = { wq: gqa.wq!, wk: copyCols(gqa.wk!), wv: copyCols(gqa.wv!), wo: gqa.wo!, bq: gqa.bq, bk: copyCols(gqa.bk!.reshape([1, -1])).reshape([-1]), bv: copyCols(gqa.bv!.reshape([1, -1])).reshape([-1]), bo: gqa.bo };
      assert.equal(mha.wk.shape[1], h * dh);
      const x = tf.tensor(randn([1, 5, dModel], 50));
      const a = tf.tidy(() => multiHeadAttention(gqa, x, x, { numHeads: h, numKvHeads: hkv, causal: true }).output.arraySync());
      const b = tf.tidy(() => multiHeadAttention(mha, x, x, { numHeads: h, causal: true }).output.arraySync());
      assertClose(flat(a), flat(b), 1e-6);
      tf.dispose([x, mha.wk, mha.wv, mha.bk, mha.bv, ...Object.values(gqa)]);
    });

    it('initMultiHeadParams is deterministic under a seed and trainable', () => {
      const a = initMultiHeadParams({ dModel: 8, numHeads: 2, seed: 3 });
      const b = initMultiHeadParams({ dModel: 8, numHeads: 2, seed: 3 });
      const c = initMultiHeadParams({ dModel: 8, numHeads: 2, seed: 4 });
      assert.deepEqual(a.wq!.arraySync(), b.wq!.arraySync());
      assert.notDeepEqual(a.wq!.arraySync(), c.wq!.arraySync());
      assert.ok(a.wq!.trainable);
      assert.notDeepEqual(a.wq!.arraySync(), a.wk!.arraySync());
      tf.dispose([...Object.values(a), ...Object.values(b), ...Object.values(c)]);
    });

    it('throws naming the shapes when xq does not match dModel', () => {
      const p = initMultiHeadParams({ dModel: 8, numHeads: 2, seed: 1 });
      assert.throws(() => multiHeadAttention(p, tf.zeros([1, 3, 6]), tf.zeros([1, 3, 6]), { numHeads: 2 }), /xq \[b, nq, dModel\] with dModel=8, got \[1, 3, 6\]/);
      assert.throws(() => multiHeadAttention(p, tf.zeros([1, 3, 8]), tf.zeros([1, 3, 8]), { numHeads: 3 }), /numHeads=3/);
      tf.dispose(Object.values(p));
    });
  });
  });
}

describe('applyRope', () => {
  /** Loop reference: rotate pair (2i, 2i+1) at position m by m·base^(−2i/d). */
  function naiveRope(x: Mat, offset = 0, base = 10000): Mat {
    const d = x[0]!.length;
    return x.map((row, m) => {
      const out = row.slice();
      for (let i = 0; i < d / 2; i++) {
        const a = (m + offset) * Math.pow(base, (-2 * i) / d);
        out[2 * i] = row[2 * i]! * Math.cos(a) - row[2 * i + 1]! * Math.sin(a);
        out[2 * i + 1] = row[2 * i]! * Math.sin(a) + row[2 * i + 1]! * Math.cos(a);
      }
      return out;
    });
  }

  it('matches the loop reference with offset and base (atol 1e-5)', async () => {
    const x = randn([2, 5, 8], 60);
    const got = await assertNoLeaks(() => tf.tidy(() => applyRope(tf.tensor(x), { offset: 3, base: 100 }).arraySync() as number[][][]));
    for (let b = 0; b < 2; b++) assertClose(flat(got[b]), flat(naiveRope(x[b], 3, 100)), 1e-5);
  });

  it('scores q_m·k_n depend only on m − n (atol 1e-4) and norms are preserved', () => {
    const qv = randn([1, 16], 61)[0] as number[];
    const kv = randn([1, 16], 62)[0] as number[];
    const n = 12;
    const qs = tf.tidy(() => applyRope(tf.tensor2d(Array.from({ length: n }, () => qv))).arraySync() as Mat);
    const ks = tf.tidy(() => applyRope(tf.tensor2d(Array.from({ length: n }, () => kv))).arraySync() as Mat);
    for (const delta of [0, 1, 5]) {
      const s = Array.from({ length: n - delta }, (_, m) => dot(qs[m + delta]!, ks[m]!));
      assertClose(s, s.map(() => s[0]!), 1e-4, 0, `offset ${delta}`);
    }
    assertClose(qs.map((r) => Math.hypot(...r)), qs.map(() => Math.hypot(...qv)), 1e-4);
  });

  it('rejects odd d', () => {
    assert.throws(() => applyRope(tf.zeros([3, 5])), /d even, got \[3, 5\]/);
  });
});

describe('tiledAttention', () => {
  const cases: [string, number, number, number, { blockSize?: number; queryBlockSize?: number; causal?: boolean }][] = [
    ['one block', 8, 8, 4, { blockSize: 64 }],
    ['uneven blocks', 13, 13, 8, { blockSize: 5, queryBlockSize: 4 }],
    ['causal', 17, 17, 8, { blockSize: 4, queryBlockSize: 3, causal: true }],
    ['causal, nq < nk (decode)', 3, 11, 8, { blockSize: 4, causal: true }],
    ['cross, nq ≠ nk', 9, 20, 16, { blockSize: 6 }],
  ];
  for (const [name, nq, nk, d, options] of cases) {
    it(`equals exact attention to float32 precision: ${name} (atol 1e-5)`, async () => {
      const q = tf.tensor(randn([2, 3, nq, d], 70, 2));
      const k = tf.tensor(randn([2, 3, nk, d], 71, 2));
      const v = tf.tensor(randn([2, 3, nk, d], 72));
      const tiled = await assertNoLeaks(() => tf.tidy(() => tiledAttention(q, k, v, options).arraySync()));
      const exact = tf.tidy(() => scaledDotProductAttention(q, k, v, { causal: options.causal }).output.arraySync());
      assertClose(flat(tiled), flat(exact), 1e-5);
      tf.dispose([q, k, v]);
    });
  }

  it('equals exact attention on the per-entry (split) wasm path too (atol 1e-5)', () => {
    const previous = setSplitThreshold(0);
    try {
      const q = tf.tensor(randn([2, 3, 13, 8], 73, 2));
      const k = tf.tensor(randn([2, 3, 13, 8], 74, 2));
      const v = tf.tensor(randn([2, 3, 13, 8], 75));
      const tiled = tf.tidy(() => tiledAttention(q, k, v, { blockSize: 5, queryBlockSize: 4, causal: true }).arraySync());
      const exact = tf.tidy(() => scaledDotProductAttention(q, k, v, { causal: true }).output.arraySync());
      assertClose(flat(tiled), flat(exact), 1e-5);
      tf.dispose([q, k, v]);
    } finally {
      setSplitThreshold(previous);
    }
  });

  it('is stable for large logits where a naive exp would overflow (atol 1e-5)', () => {
    const q = tf.mul(tf.tensor(randn([1, 6, 4], 80)), 300);
    const k = tf.tensor(randn([1, 10, 4], 81));
    const v = tf.tensor(randn([1, 10, 3], 82));
    const t = flat(tiledAttention(q, k, v, { blockSize: 3 }).arraySync());
    assert.ok(t.every(Number.isFinite));
    assertClose(t, flat(scaledDotProductAttention(q, k, v).output.arraySync()), 1e-5);
    tf.dispose([q, k, v]);
  });

  it('never allocates a tensor as large as the [nq, nk] score matrix', async () => {
    const n = 64;
    const q = tf.tensor(randn([1, n, 4], 90));
    const profile = await tf.profile(() => tiledAttention(q, q, q, { blockSize: 16 }));
    const largest = Math.max(...profile.kernels.flatMap((kr) => kr.outputShapes.map((s) => (s ?? []).reduce((a: number, b: number) => a * b, 1))));
    assert.ok(largest < n * n, `largest intermediate has ${largest} elements, the score matrix ${n * n}`);
    tf.dispose([q, profile.result as tf.Tensor]);
  });

  it('one block of the online softmax: folding blocks with onlineSoftmaxStep or mergeAttentionBlock gives softmax(s) v (loop, atol 1e-5)', () => {
    const s = randn([3, 10], 95, 3) as Mat;
    const v = randn([10, 2], 96) as Mat;
    const want = s.map((row) => {
      const w = softmaxRow(row);
      return [0, 1].map((c) => w.reduce((acc, wj, j) => acc + wj * v[j]![c]!, 0));
    });
    const cols = (from: number, to: number) => tf.tensor2d(s.map((r) => r.slice(from, to)));
    const rows = (from: number, to: number) => tf.tensor2d(v.slice(from, to));
    const online = tf.tidy(() => {
      let st = { m: tf.fill([3, 1], -Infinity), l: tf.zeros([3, 1]), acc: tf.zeros([3, 2]) };
      for (const [a, b] of [[0, 4], [4, 7], [7, 10]]) st = onlineSoftmaxStep(st, cols(a!, b!), rows(a!, b!));
      return tf.div(st.acc, st.l).arraySync();
    });
    const merged = tf.tidy(() => {
      let st = { lse: tf.fill([3, 1], -Infinity), out: tf.zeros([3, 2]) };
      for (const [a, b] of [[0, 4], [4, 7], [7, 10]]) st = mergeAttentionBlock(st, cols(a!, b!), rows(a!, b!));
      return st.out.arraySync();
    });
    assertClose(flat(online), flat(want), 1e-5, 0, 'onlineSoftmaxStep');
    assertClose(flat(merged), flat(want), 1e-5, 0, 'mergeAttentionBlock');
  });

  it('throws naming shapes', () => {
    assert.throws(() => tiledAttention(tf.zeros([1, 4, 8]), tf.zeros([1, 4, 6]), tf.zeros([1, 4, 8])), /keys.*got \[1, 4, 6\]/);
  });
});

describe('causalMask', () => {
  it('is lower-triangular, end-aligned for nq < nk', () => {
    assert.deepEqual(causalMask(3).arraySync(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
    assert.deepEqual(causalMask(2, 4).arraySync(), [[1, 1, 1, 0], [1, 1, 1, 1]]);
  });
});
