/**
 * Every other attention variant of the course map, against plain-loop references
 * (test/helpers/attention-ref.ts), closed forms, published constants and invariants.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  dotScores,
  scaledDotScores,
  generalScores,
  additiveScores,
  cosineScores,
  paddingMask,
  slidingWindowMask,
  stridedMask,
  fixedMask,
  bigBirdMask,
  stridedPattern,
  fixedPattern,
  bigBirdPattern,
  slidingWindowPattern,
  causalPattern,
  patternKeys,
  combineMasks,
  sinusoidalPositions,
  initLearnedPositions,
  learnedPositions,
  shawRelativeAttention,
  relativePositionIndex,
  t5Bucket,
  t5RelativeBias,
  alibiSlopes,
  alibiBias,
  scaledDotProductAttention,
  multiHeadAttention,
  initMultiHeadParams,
  crossAttention,
  hardAttention,
  gumbelSoftmax,
  localAttention,
  localPAttention,
  sparseAttention,
  sparseLayout,
  linearAttention,
  linearAttentionQuadratic,
  eluFeatureMap,
  performerAttention,
  performerProjection,
  favorFeatures,
  createKVCache,
  appendToKVCache,
  disposeKVCache,
  multiHeadAttentionCached,
  kvCacheBytes,
  setSplitThreshold,
  type AttentionPattern,
} from '../lib/index.js';
import { assertClose, assertNoLeaks } from './helpers/kit.js';
import { dot, flat, naiveAttention, randn, softmaxRow, type Mat } from './helpers/attention-ref.js';

before(async () => {
  await initBackend({ prefer: 'wasm', verbose: false });
});

const arr = (t: tf.Tensor) => {
  const a = t.arraySync();
  t.dispose();
  return a as any;
};

describe('scoring functions', () => {
  const q = randn([2, 3, 4], 1) as Mat[];
  const k = randn([2, 5, 4], 2) as Mat[];
  const loop = (f: (qi: number[], kj: number[]) => number) => q.map((qb, b) => qb.map((qi) => k[b]!.map((kj) => f(qi, kj))));

  it('dot, scaled dot, general match loops (atol 1e-5)', async () => {
    const w = randn([4, 4], 3) as Mat;
    const [tq, tk, tw] = [tf.tensor(q), tf.tensor(k), tf.tensor(w)];
    await assertNoLeaks(() => {
      assertClose(flat(arr(dotScores(tq, tk))), flat(loop(dot)), 1e-5);
      assertClose(flat(arr(scaledDotScores(tq, tk))), flat(loop((a, b) => dot(a, b) / 2)), 1e-5);
      const qW = (qi: number[]) => w[0]!.map((_, c) => qi.reduce((s, x, r) => s + x * w[r]![c]!, 0));
      assertClose(flat(arr(generalScores(tq, tk, tw))), flat(loop((a, b) => dot(qW(a), b))), 1e-5);
    });
    tf.dispose([tq, tk, tw]);
  });

  it('additive = vᵀ tanh(Wq q + Wk k) (loop, atol 1e-5)', () => {
    const wq = randn([4, 6], 4) as Mat, wk = randn([4, 6], 5) as Mat, v = randn([6], 6) as number[];
    const lin = (x: number[], w: Mat) => w[0]!.map((_, c) => x.reduce((s, xi, r) => s + xi * w[r]![c]!, 0));
    const want = loop((a, b) => {
      const h = lin(a, wq).map((x, c) => Math.tanh(x + lin(b, wk)[c]!));
      return dot(h, v);
    });
    const got = tf.tidy(() => additiveScores(tf.tensor(q), tf.tensor(k), { wq: tf.tensor(wq), wk: tf.tensor(wk), v: tf.tensor(v) }).arraySync());
    assertClose(flat(got), flat(want), 1e-5);
    assert.throws(() => additiveScores(tf.tensor(q), tf.tensor(k), { wq: tf.zeros([3, 6]), wk: tf.tensor(wk), v: tf.tensor(v) }), /wq \[dq, da\] with dq=4.*got \[3, 6\]/);
  });

  it('cosine = cos(q, k) / τ, bounded by 1/τ (loop, atol 1e-5)', () => {
    const got = tf.tidy(() => cosineScores(tf.tensor(q), tf.tensor(k), { temperature: 0.5 }).arraySync());
    assertClose(flat(got), flat(loop((a, b) => dot(a, b) / Math.hypot(...a) / Math.hypot(...b) / 0.5)), 1e-5);
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(cosineScores(x, tf.tensor(k[0]!))))(tf.zeros([2, 4])).arraySync());
    assert.ok(flat(g).every(Number.isFinite), 'gradient at a zero query is finite');
  });

  it('dot scores reject mismatched depth, naming shapes', () => {
    assert.throws(() => dotScores(tf.zeros([3, 4]), tf.zeros([5, 6])), /expected keys \[\.\.\., nk, d\] with d=4, got \[5, 6\]/);
  });
});

describe('masks and patterns', () => {
  it('paddingMask is [b, 1, 1, n] with ones up to each length', () => {
    const m = paddingMask([2, 0, 3], 3);
    assert.deepEqual(m.shape, [3, 1, 1, 3]);
    assert.deepEqual(flat(arr(m)), [1, 1, 0, 0, 0, 0, 1, 1, 1]);
    assert.throws(() => paddingMask([4], 3), /length 4/);
  });

  it('slidingWindowMask, stridedMask, fixedMask match their definitions (Child et al. 2019)', () => {
    const n = 9;
    const check = (m: tf.Tensor, rule: (i: number, j: number) => boolean, what: string) => {
      const a = arr(m) as Mat;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.equal(a[i]![j], rule(i, j) ? 1 : 0, `${what} (${i}, ${j})`);
    };
    check(slidingWindowMask(n, 2), (i, j) => Math.abs(i - j) <= 2, 'window');
    check(slidingWindowMask(n, 2, { causal: true }), (i, j) => j <= i && j >= i - 2, 'causal window');
    // Strided (stride l = 3): A1 = {max(0, i−l) … i}, A2 = {j ≤ i : (i − j) mod l = 0}.
    check(stridedMask(n, 3), (i, j) => (j >= Math.max(0, i - 3) && j <= i) || (j <= i && (i - j) % 3 === 0), 'strided');
    // Fixed (l = 3, c = 1): A1 = same block, A2 = {j : j mod l ∈ {l − c … l − 1}}, causal.
    check(fixedMask(n, 3, 1), (i, j) => j <= i && (Math.floor(i / 3) === Math.floor(j / 3) || j % 3 === 2), 'fixed');
    assert.deepEqual((arr(stridedMask(4, 2)) as Mat)[3], [0, 1, 1, 1]);
  });

  it('bigBirdMask: global rows/columns, window, seeded random links', () => {
    const a = arr(bigBirdMask(16, { numGlobal: 2, window: 1, numRandom: 3, seed: 7 })) as Mat;
    const b = arr(bigBirdMask(16, { numGlobal: 2, window: 1, numRandom: 3, seed: 7 })) as Mat;
    const c = arr(bigBirdMask(16, { numGlobal: 2, window: 1, numRandom: 3, seed: 8 })) as Mat;
    assert.deepEqual(a, b, 'same seed, same mask');
    assert.notDeepEqual(a, c, 'another seed, other random links');
    for (let i = 0; i < 16; i++) {
      assert.equal(a[i]![0], 1);
      assert.equal(a[0]![i], 1);
      assert.equal(a[i]![i], 1);
      if (i > 0) assert.equal(a[i]![i - 1], 1);
      const count = a[i]!.reduce((s, x) => s + x, 0);
      if (i >= 2) assert.ok(count <= 2 + 3 + 3 && count >= 4, `row ${i} has ${count} keys`);
    }
  });

  it('block-sparse BigBird: every query block sees whole key blocks, at most g + 2w + 1 + r of them', () => {
    const n = 32, bs = 4;
    const p = bigBirdPattern(n, { numGlobal: 1, window: 1, numRandom: 2, seed: 5, blockSize: bs });
    for (let qb = 1; qb < n / bs; qb++) {
      const rows = Array.from({ length: bs }, (_, r) => patternKeys(p, qb * bs + r, n));
      rows.forEach((keys) => assert.deepEqual(keys, rows[0], 'queries of a block share their keys'));
      const keyBlocks = new Set(rows[0]!.map((j) => Math.floor(j / bs)));
      assert.ok(keyBlocks.size <= 1 + 3 + 2, `block ${qb} sees ${keyBlocks.size} key blocks`);
      for (const b of keyBlocks) for (let t = 0; t < bs; t++) assert.ok(rows[0]!.includes(b * bs + t), 'whole blocks');
      assert.ok([0, qb - 1, qb, qb + 1].filter((b) => b >= 0 && b < n / bs).every((b) => keyBlocks.has(b)), 'global and window blocks');
    }
    // Global query block: everything.
    assert.equal(patternKeys(p, 0, n).length, n);
  });

  it("every pattern's keys() enumerates exactly what allows() permits", () => {
    const patterns: AttentionPattern[] = [
      causalPattern(7, 10),
      slidingWindowPattern(3),
      slidingWindowPattern(2, { causal: true }),
      stridedPattern(3),
      fixedPattern(4, 2),
      bigBirdPattern(20, { numGlobal: 2, window: 2, numRandom: 3, seed: 1 }),
      bigBirdPattern(20, { numGlobal: 1, window: 1, numRandom: 1, seed: 2, blockSize: 3 }),
    ];
    for (const p of patterns) {
      for (let i = 0; i < 20; i++) {
        const brute = Array.from({ length: 20 }, (_, j) => j).filter((j) => p.allows(i, j));
        assert.deepEqual(patternKeys(p, i, 20), brute, `${p.name}, row ${i}`);
      }
    }
  });

  it('combineMasks is a logical and with broadcasting', () => {
    const m = combineMasks(tf.tensor2d([[1, 1], [0, 1]]), tf.tensor1d([1, 0]), null)!;
    assert.deepEqual(arr(m), [[1, 0], [0, 0]]);
  });
});

describe('positions', () => {
  it('sinusoidalPositions matches the closed form (atol 1e-5)', () => {
    const pe = arr(sinusoidalPositions(6, 8)) as Mat;
    for (let p = 0; p < 6; p++) for (let i = 0; i < 8; i++) {
      const angle = p / Math.pow(10000, (2 * Math.floor(i / 2)) / 8);
      assertClose([pe[p]![i]!], [i % 2 === 0 ? Math.sin(angle) : Math.cos(angle)], 1e-5);
    }
    assertClose(pe[0]!, [0, 1, 0, 1, 0, 1, 0, 1], 0);
  });

  it('learned positions: seeded table, lookup of rows, gradient only on the rows used', () => {
    const t1 = initLearnedPositions({ maxLength: 10, dModel: 4, seed: 3 });
    const t2 = initLearnedPositions({ maxLength: 10, dModel: 4, seed: 3 });
    assert.deepEqual(t1.arraySync(), t2.arraySync());
    assert.deepEqual(arr(learnedPositions(t1, 3, 2)), (t1.arraySync() as Mat).slice(2, 5));
    const g = tf.grad((t: tf.Tensor) => tf.sum(learnedPositions(t, 3, 2)))(t1).arraySync() as Mat;
    assert.deepEqual(g.map((r) => r[0]), [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
    assert.throws(() => learnedPositions(t1, 9, 2), /maxLength=10/);
    tf.dispose([t1, t2]);
  });

  it('Shaw relative attention matches the loop formula e_ij = q_i·(k_j + a^K_ij)/√d (atol 1e-5)', async () => {
    const n = 6, d = 4, K = 2;
    const q = randn([n, d], 10) as Mat, k = randn([n, d], 11) as Mat, v = randn([n, d], 12) as Mat;
    const relK = randn([2 * K + 1, d], 13) as Mat, relV = randn([2 * K + 1, d], 14) as Mat;
    const clip = (x: number) => Math.max(-K, Math.min(K, x)) + K;
    const weights = q.map((qi, i) => softmaxRow(k.map((kj, j) => dot(qi, kj.map((x, c) => x + relK[clip(j - i)]![c]!)) / Math.sqrt(d))));
    const out = weights.map((w, i) => v[0]!.map((_, c) => w.reduce((s, wj, j) => s + wj * (v[j]![c]! + relV[clip(j - i)]![c]!), 0)));
    const got = await assertNoLeaks(() => tf.tidy(() => {
      const r = shawRelativeAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { relK: tf.tensor(relK), relV: tf.tensor(relV) }, { maxDistance: K });
      return { o: r.output.arraySync(), w: r.weights.arraySync() };
    }));
    assertClose(flat(got.w), flat(weights), 1e-6);
    assertClose(flat(got.o), flat(out), 1e-5);
    // nq=2, nk=3: queries sit at positions 1 and 2 (end-aligned); idx = clip(j − pos, −1, 1) + 1.
    assert.deepEqual(relativePositionIndex(2, 3, 1), [[0, 1, 2], [0, 0, 1]]);
  });

  it('T5 buckets equal the values of the reference implementation', () => {
    const rels = [-200, -128, -100, -50, -20, -9, -8, -7, -1, 0, 1, 2, 7, 8, 9, 20, 50, 100, 127, 128, 500];
    // Computed with T5's _relative_position_bucket (relative = memory − query).
    assert.deepEqual(rels.map((r) => t5Bucket(r)), [15, 15, 15, 13, 10, 8, 8, 7, 1, 0, 17, 18, 23, 24, 24, 26, 29, 31, 31, 31, 31]);
    assert.deepEqual(rels.map((r) => t5Bucket(r, { bidirectional: false })), [31, 31, 30, 24, 17, 9, 8, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(rels.map((r) => t5Bucket(r, { numBuckets: 8, maxDistance: 20 })), [3, 3, 3, 3, 3, 3, 3, 3, 1, 0, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
  });

  it('t5RelativeBias[h, i, j] = table[bucket(j − i), h]', () => {
    const table = randn([32, 2], 20) as Mat;
    const bias = arr(t5RelativeBias(tf.tensor(table), 4, 6)) as number[][][];
    for (let h = 0; h < 2; h++) for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) {
      assertClose([bias[h]![i]![j]!], [table[t5Bucket(j - (i + 2))]![h]!], 1e-7);
    }
  });

  it('ALiBi slopes follow the paper (8 heads: 2^-1 … 2^-8; 6 heads: interleaved rule)', () => {
    assertClose(alibiSlopes(8), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i), 1e-12);
    assertClose(alibiSlopes(6), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3], 1e-12);
    const b = arr(alibiBias(2, 3)) as number[][][];
    // 2 heads: slopes 2^-4, 2^-8; bias = −m·|i − j|.
    assertClose(flat(b[0]), [0, -1, -2, -1, 0, -1, -2, -1, 0].map((x) => x / 16), 1e-7);
    assertClose(flat(b[1]), [0, -1, -2, -1, 0, -1, -2, -1, 0].map((x) => x / 256), 1e-7);
  });

  it('multiHeadAttention position options: bias tensor and ALiBi equal the loop with bias (atol 1e-5)', () => {
    const h = 2, dModel = 4;
    const params = initMultiHeadParams({ dModel, numHeads: h, seed: 2, bias: false });
    const x = randn([1, 5, dModel], 30) as Mat[];
    const projHead = (w: tf.Tensor, head: number) => (tf.tidy(() => tf.matMul(tf.tensor(x[0]!), w).arraySync()) as Mat).map((r) => r.slice(head * 2, head * 2 + 2));
    const slopes = alibiSlopes(h);
    const reference = (biasOf: (head: number, i: number, j: number) => number) => {
      const heads = [0, 1].map((head) =>
        naiveAttention(projHead(params.wq!, head), projHead(params.wk!, head), projHead(params.wv!, head), { allowed: (i, j) => j <= i, bias: (i, j) => biasOf(head, i, j) }).output,
      );
      const concat = heads[0]!.map((_, n) => [...heads[0]![n]!, ...heads[1]![n]!]);
      const wo = params.wo!.arraySync() as Mat;
      return concat.map((r) => wo[0]!.map((_, c) => r.reduce((s, xi, t) => s + xi * wo[t]![c]!, 0)));
    };
    const alibi = tf.tidy(() => multiHeadAttention(params, tf.tensor(x), tf.tensor(x), { numHeads: h, causal: true, position: 'alibi' }).output.arraySync());
    assertClose(flat(alibi), flat(reference((head, i, j) => -slopes[head]! * Math.abs(i - j))), 1e-5, 0, 'alibi');
    const t5 = randn([32, h], 31) as Mat;
    const viaBias = tf.tidy(() => multiHeadAttention(params, tf.tensor(x), tf.tensor(x), { numHeads: h, causal: true, position: t5RelativeBias(tf.tensor(t5), 5, 5) }).output.arraySync());
    assertClose(flat(viaBias), flat(reference((head, i, j) => t5[t5Bucket(j - i)]![head]!)), 1e-5, 0, 't5 bias');
    tf.dispose(Object.values(params));
  });

  it("RoPE in multiHeadAttention: scores are invariant to shifting every position (atol 1e-4)", () => {
    const params = initMultiHeadParams({ dModel: 8, numHeads: 2, seed: 4 });
    const x = tf.tensor(randn([1, 6, 8], 32));
    const w0 = flat(tf.tidy(() => multiHeadAttention(params, x, x, { numHeads: 2, position: 'rope' }).weights.arraySync()));
    const w1 = flat(tf.tidy(() => multiHeadAttention(params, x, x, { numHeads: 2, position: { type: 'rope', offsetQ: 37, offsetK: 37 } }).weights.arraySync()));
    const plain = flat(tf.tidy(() => multiHeadAttention(params, x, x, { numHeads: 2 }).weights.arraySync()));
    assertClose(w1, w0, 1e-4);
    assert.ok(w0.some((w, i) => Math.abs(w - plain[i]!) > 1e-3), 'RoPE changes the weights');
    tf.dispose([x, ...Object.values(params)]);
  });
});

describe('cross attention', () => {
  it('queries from x, keys/values from memory: shapes and never causal', () => {
    const params = initMultiHeadParams({ dModel: 8, numHeads: 2, seed: 5 });
    const r = crossAttention(params, tf.tensor(randn([2, 3, 8], 40)), tf.tensor(randn([2, 7, 8], 41)), { numHeads: 2 });
    assert.deepEqual(r.output.shape, [2, 3, 8]);
    assert.deepEqual(r.weights.shape, [2, 2, 3, 7]);
    assert.ok((flat(r.weights.arraySync()) as number[]).every((w) => w > 0), 'every memory position is visible');
    tf.dispose([r.output, r.weights, ...Object.values(params)]);
  });
});

describe('hard attention', () => {
  it("argmax picks the best key's value; logProb = log softmax at that key", async () => {
    const scores = [[0.1, 2, -1], [3, 0, 0.5]];
    const v = [[1, 0], [0, 1], [5, 5]];
    const r = await assertNoLeaks(() => tf.tidy(() => {
      const h = hardAttention(tf.tensor(scores), tf.tensor(v));
      return { o: h.output.arraySync(), i: h.indices.arraySync(), lp: h.logProb.arraySync() };
    }));
    assert.deepEqual(r.i, [1, 0]);
    assertClose(flat(r.o), [0, 1, 1, 0], 0);
    assertClose(r.lp as number[], [Math.log(softmaxRow(scores[0]!)[1]!), Math.log(softmaxRow(scores[1]!)[0]!)], 1e-6);
    const masked = tf.tidy(() => hardAttention(tf.tensor(scores), tf.tensor(v), { mask: tf.tensor2d([[1, 0, 1], [1, 1, 1]]) }).indices.arraySync());
    assert.deepEqual(masked, [0, 0]);
  });

  it('sampling draws key j with probability softmax(s)_j (4000 draws, |freq − p| < 0.03) and is seeded', () => {
    const s = [1, 0, -0.5, 0.7];
    const rows = 4000;
    const scores = tf.tile(tf.tensor2d([s]), [rows, 1]);
    const v = tf.eye(4);
    const draw = (seed: number) => tf.tidy(() => hardAttention(scores, v, { mode: 'sample', seed }).indices.arraySync() as number[]);
    const idx = draw(1);
    const freq = [0, 1, 2, 3].map((j) => idx.filter((x) => x === j).length / rows);
    assertClose(freq, softmaxRow(s), 0.03);
    assert.deepEqual(draw(1), idx);
    assert.notDeepEqual(draw(2), idx);
    tf.dispose([scores, v]);
  });

  it('REINFORCE gradient: ∂ logProb / ∂ s = onehot − softmax(s) (closed form, atol 1e-6)', () => {
    const s = tf.tensor2d([[0.3, -1, 2]]);
    const v = tf.eye(3);
    const g = tf.grad((x: tf.Tensor) => tf.sum(hardAttention(x, v).logProb))(s).arraySync() as Mat;
    const p = softmaxRow([0.3, -1, 2]);
    assertClose(g[0]!, [-p[0]!, -p[1]!, 1 - p[2]!], 1e-6);
    tf.dispose([s, v]);
  });

  it('straight-through Gumbel-softmax: one-hot forward, soft-sample gradient backward (atol 1e-6)', () => {
    const s = tf.tensor2d(randn([3, 5], 50));
    const c = tf.tensor2d(randn([3, 5], 51));
    const hard = gumbelSoftmax(s, { hard: true, seed: 9, temperature: 0.5 }).arraySync() as Mat;
    const soft = gumbelSoftmax(s, { hard: false, seed: 9, temperature: 0.5 }).arraySync() as Mat;
    hard.forEach((row, i) => {
      assert.equal(row.reduce((a, b) => a + b, 0), 1);
      assert.equal(row.indexOf(1), soft[i]!.indexOf(Math.max(...soft[i]!)));
    });
    const gHard = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(gumbelSoftmax(x, { hard: true, seed: 9, temperature: 0.5 }), c)))(s);
    const gSoft = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(gumbelSoftmax(x, { hard: false, seed: 9, temperature: 0.5 }), c)))(s);
    assertClose(flat(arr(gHard)), flat(arr(gSoft)), 1e-6);
    tf.dispose([s, c]);
  });
});

describe('localAttention', () => {
  const cases: [number, number, boolean, number | undefined][] = [
    [10, 2, false, undefined],
    [10, 2, true, 3],
    [13, 4, false, 5],
    [13, 3, true, 4],
    [7, 0, false, 2],
  ];
  for (const [n, window, causal, blockSize] of cases) {
    it(`n=${n}, window=${window}${causal ? ', causal' : ''}, block ${blockSize ?? 'default'}: equals the loop with the window mask (atol 1e-5)`, async () => {
      const q = randn([2, n, 4], 60), k = randn([2, n, 4], 61), v = randn([2, n, 3], 62);
      const got = await assertNoLeaks(() => tf.tidy(() => localAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { window, causal, blockSize }).arraySync()));
      for (let b = 0; b < 2; b++) {
        const ref = naiveAttention(q[b], k[b], v[b], { allowed: (i, j) => (causal ? j <= i && i - j <= window : Math.abs(i - j) <= window) });
        assertClose(flat((got as number[][][])[b]), flat(ref.output), 1e-5);
      }
    });
  }

  it('per-entry (split) wasm path: equals the loop with the window mask (atol 1e-5)', () => {
    const previous = setSplitThreshold(0);
    try {
      const q = randn([2, 11, 4], 64), k = randn([2, 11, 4], 65), v = randn([2, 11, 3], 66);
      const got = tf.tidy(() => localAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { window: 3, blockSize: 4 }).arraySync()) as number[][][];
      const sparse = tf.tidy(() => sparseAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask: slidingWindowPattern(3), blockSize: 4 }).arraySync()) as number[][][];
      for (let b = 0; b < 2; b++) {
        const ref = naiveAttention(q[b], k[b], v[b], { allowed: (i, j) => Math.abs(i - j) <= 3 });
        assertClose(flat(got[b]), flat(ref.output), 1e-5, 0, 'local');
        assertClose(flat(sparse[b]), flat(ref.output), 1e-5, 0, 'sparse');
      }
    } finally {
      setSplitThreshold(previous);
    }
  });

  it('a window ≥ n equals full attention, causal or not (atol 1e-5)', () => {
    const q = tf.tensor(randn([1, 2, 9, 8], 63));
    for (const causal of [false, true]) {
      for (const window of [8, 9, 100]) {
        const local = tf.tidy(() => localAttention(q, q, q, { window, causal, blockSize: 4 }).arraySync());
        const full = tf.tidy(() => scaledDotProductAttention(q, q, q, { causal }).output.arraySync());
        assertClose(flat(local), flat(full), 1e-5, 0, `window ${window} causal ${causal}`);
      }
    }
    q.dispose();
  });

  it('rejects nq ≠ nk, naming shapes', () => {
    assert.throws(() => localAttention(tf.zeros([3, 4]), tf.zeros([5, 4]), tf.zeros([5, 4]), { window: 1 }), /\[3, 4\] and \[5, 4\]/);
  });
});

describe('Luong local-p attention', () => {
  it('matches the loop formula: window softmax × Gaussian around p_i = nk·σ(v_pᵀ tanh(W_p q_i)) (atol 1e-5)', () => {
    const nq = 3, nk = 9, d = 4, da = 5, D = 2;
    const q = randn([nq, d], 120) as Mat, k = randn([nk, d], 121) as Mat, v = randn([nk, 2], 122) as Mat;
    const wp = randn([d, da], 123) as Mat, vp = randn([da], 124) as number[];
    const got = tf.tidy(() => {
      const r = localPAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { wp: tf.tensor(wp), vp: tf.tensor(vp) }, { window: D });
      return { w: r.weights.arraySync() as Mat, o: r.output.arraySync() as Mat, p: r.centers.arraySync() as number[] };
    });
    q.forEach((qi, i) => {
      const h = wp[0]!.map((_, c) => Math.tanh(qi.reduce((s, x, r) => s + x * wp[r]![c]!, 0)));
      const p = nk / (1 + Math.exp(-dot(h, vp)));
      assertClose([got.p[i]!], [p], 1e-4, 0, 'center');
      const inside = k.map((_, j) => Math.abs(j - p) <= D);
      const soft = softmaxRow(k.map((kj) => dot(qi, kj)), inside);
      const w = soft.map((x, j) => x * Math.exp(-((j - p) ** 2) / (2 * (D / 2) ** 2)));
      assertClose(got.w[i]!, w, 1e-5, 0, `weights row ${i}`);
      assertClose(got.o[i]!, [0, 1].map((c) => w.reduce((s, wj, j) => s + wj * v[j]![c]!, 0)), 1e-5, 0, `output row ${i}`);
    });
  });
});

describe('sparseAttention', () => {
  const n = 20;
  const q = randn([2, n, 4], 70), k = randn([2, n, 4], 71), v = randn([2, n, 3], 72);
  const patterns: AttentionPattern[] = [stridedPattern(4), fixedPattern(5, 2), bigBirdPattern(n, { numGlobal: 1, window: 2, numRandom: 2, seed: 3 }), slidingWindowPattern(3)];
  for (const pattern of patterns) {
    it(`${pattern.name}: equals the loop reference with the same mask (atol 1e-5)`, async () => {
      const got = await assertNoLeaks(() => tf.tidy(() => sparseAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask: pattern, blockSize: 6 }).arraySync()));
      for (let b = 0; b < 2; b++) {
        const ref = naiveAttention(q[b], k[b], v[b], { allowed: (i, j) => pattern.allows(i, j) });
        assertClose(flat((got as number[][][])[b]), flat(ref.output), 1e-5);
      }
    });
  }

  it('accepts a mask tensor and a precomputed layout; computes fewer scores than n²', () => {
    const mask = stridedMask(n, 4);
    const layout = sparseLayout(stridedPattern(4), n, n, 4);
    const viaMask = tf.tidy(() => sparseAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask }).arraySync());
    const viaLayout = tf.tidy(() => sparseAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask: layout }).arraySync());
    const dense = tf.tidy(() => scaledDotProductAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask }).output.arraySync());
    assertClose(flat(viaMask), flat(dense), 1e-5);
    assertClose(flat(viaLayout), flat(dense), 1e-5);
    assert.ok(layout.computedScores < n * n, `${layout.computedScores} scores computed`);
    assert.equal(layout.allowedPairs, flat(mask.arraySync()).filter((x) => x === 1).length);
    mask.dispose();
    assert.throws(() => sparseAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { mask: tf.ones([3, 3]) }), /mask \[nq, nk\] with nq=20, nk=20, got \[3, 3\]/);
  });
});

describe('linear attention', () => {
  const elu1 = (x: number) => (x > 0 ? x + 1 : Math.exp(x));
  /** Loop: out_i = Σ_j φ(q_i)·φ(k_j) v_j / Σ_j φ(q_i)·φ(k_j) over allowed j. */
  const naiveLinear = (q: Mat, k: Mat, v: Mat, causal: boolean) =>
    q.map((qi, i) => {
      const fq = qi.map(elu1);
      const sims = k.map((kj, j) => (causal && j > i ? 0 : dot(fq, kj.map(elu1))));
      const total = sims.reduce((a, b) => a + b, 0);
      return v[0]!.map((_, c) => sims.reduce((s, w, j) => s + w * v[j]![c]!, 0) / total);
    });

  for (const [causal, chunkSize, n] of [[false, 64, 11], [true, 4, 11], [true, 5, 10], [true, 64, 7]] as const) {
    it(`${causal ? `causal (chunk ${chunkSize})` : 'non-causal'}, n=${n}: equals the loop formula (rtol 1e-4)`, async () => {
      const q = randn([2, n, 4], 80), k = randn([2, n, 4], 81), v = randn([2, n, 3], 82);
      const got = await assertNoLeaks(() => tf.tidy(() => linearAttention(tf.tensor(q), tf.tensor(k), tf.tensor(v), { causal, chunkSize }).arraySync()));
      for (let b = 0; b < 2; b++) assertClose(flat((got as number[][][])[b]), flat(naiveLinear(q[b], k[b], v[b], causal)), 1e-5, 1e-4);
    });
  }

  it('equals its quadratic form (φ(Q)φ(K)ᵀ ⊙ M) V / rowsum, causal and not (rtol 1e-4)', () => {
    const q = tf.tensor(randn([3, 17, 8], 83)), k = tf.tensor(randn([3, 17, 8], 84)), v = tf.tensor(randn([3, 17, 8], 85));
    for (const causal of [false, true]) {
      const lin = tf.tidy(() => linearAttention(q, k, v, { causal, chunkSize: 6 }).arraySync());
      const quad = tf.tidy(() => linearAttentionQuadratic(eluFeatureMap(q), eluFeatureMap(k), v, { causal }).arraySync());
      assertClose(flat(lin), flat(quad), 1e-5, 1e-4);
    }
    tf.dispose([q, k, v]);
  });

  it('causal: output i unchanged when tokens after i change', () => {
    const x = randn([1, 12, 4], 86) as Mat[];
    const y = [x[0]!.map((r, i) => (i > 5 ? r.map((t) => t * 3 + 1) : r))];
    const run = (z: Mat[]) => tf.tidy(() => linearAttention(tf.tensor(z), tf.tensor(z), tf.tensor(z), { causal: true, chunkSize: 4 }).arraySync()) as number[][][];
    assertClose(flat(run(x)[0]!.slice(0, 6)), flat(run(y)[0]!.slice(0, 6)), 1e-6);
  });
});

describe('Performer (FAVOR+)', () => {
  it('orthogonal projection: seeded, rows within a block orthogonal, each row a Gaussian-length vector', () => {
    const w = arr(performerProjection({ d: 8, numFeatures: 16, seed: 1 })) as Mat;
    assert.deepEqual(w, arr(performerProjection({ d: 8, numFeatures: 16, seed: 1 })));
    for (let a = 0; a < 8; a++) for (let b = a + 1; b < 8; b++) assert.ok(Math.abs(dot(w[a]!, w[b]!)) < 1e-4, `rows ${a}, ${b}`);
  });

  it('features estimate the softmax kernel: φ(q)·φ(k) ∝ exp(q·k/√d) (m = 65536, rel. error < 2%)', () => {
    const d = 4;
    const q = randn([1, d], 90, 0.7)[0] as number[];
    const ks = randn([6, d], 91, 0.7) as Mat;
    const projection = performerProjection({ d, numFeatures: 65536, seed: 2 });
    const phiQ = arr(favorFeatures(tf.tensor2d([q]), projection, { isQuery: true })) as Mat;
    const phiK = arr(favorFeatures(tf.tensor2d(ks), projection, { isQuery: false })) as Mat;
    const est = phiK.map((fk) => dot(phiQ[0]!, fk));
    const exact = ks.map((k) => Math.exp(dot(q, k) / Math.sqrt(d)));
    // The stabilisers make the estimate exact only up to one constant factor: compare ratios.
    const ratios = est.map((e, j) => e / exact[j]!);
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    assertClose(ratios.map((r) => r / mean), ratios.map(() => 1), 0.02);
    projection.dispose();
  });

  it('approximates softmax attention (m = 8192 features, atol 0.05; error shrinks with m) and is deterministic under a seed', () => {
    const q = tf.tensor(randn([2, 10, 8], 92, 0.5)), k = tf.tensor(randn([2, 10, 8], 93, 0.5)), v = tf.tensor(randn([2, 10, 8], 94));
    for (const causal of [false, true]) {
      const approx = flat(tf.tidy(() => performerAttention(q, k, v, { numFeatures: 8192, seed: 3, causal, chunkSize: 4 }).arraySync()));
      const exact = flat(tf.tidy(() => scaledDotProductAttention(q, k, v, { causal }).output.arraySync()));
      assertClose(approx, exact, 0.05, 0, `causal ${causal}`);
      const again = flat(tf.tidy(() => performerAttention(q, k, v, { numFeatures: 8192, seed: 3, causal, chunkSize: 4 }).arraySync()));
      assert.deepEqual(again, approx);
      const coarse = flat(tf.tidy(() => performerAttention(q, k, v, { numFeatures: 64, seed: 3, causal, chunkSize: 4 }).arraySync()));
      const maxErr = (a: number[]) => Math.max(...a.map((x, i) => Math.abs(x - exact[i]!)));
      assert.ok(maxErr(approx) < maxErr(coarse), `error with 8192 features ${maxErr(approx)} vs 64 features ${maxErr(coarse)}`);
    }
    tf.dispose([q, k, v]);
  });
});

describe('KV cache', () => {
  for (const [position, h, hkv] of [[null, 4, 4], ['rope', 4, 2], ['alibi', 4, 1]] as const) {
    it(`prompt then token-by-token equals full causal attention (position ${position}, ${h}/${hkv} heads, atol 1e-5)`, async () => {
      const dModel = 8;
      const params = initMultiHeadParams({ dModel, numHeads: h, numKvHeads: hkv, seed: 11 });
      const x = tf.tensor(randn([2, 7, dModel], 100));
      const full = tf.tidy(() => multiHeadAttention(params, x, x, { numHeads: h, numKvHeads: hkv, causal: true, position }).output.arraySync()) as number[][][];
      await assertNoLeaks(() => {
        let cache = createKVCache({ batch: 2, numKvHeads: hkv, dHead: dModel / h });
        const pieces: number[][][][] = [];
        for (const [start, size] of [[0, 3], [3, 1], [4, 1], [5, 2]] as const) {
          const chunk = tf.slice(x, [0, start, 0], [2, size, dModel]);
          const step = multiHeadAttentionCached(params, chunk, cache, { numHeads: h, numKvHeads: hkv, position });
          assert.deepEqual(step.weights.shape, [2, h, size, start + size]);
          pieces.push(step.output.arraySync() as number[][][]);
          tf.dispose([chunk, step.output, step.weights]);
          disposeKVCache(cache);
          cache = step.cache;
        }
        assert.equal(cache.length, 7);
        assert.deepEqual(cache.k.shape, [2, hkv, 7, dModel / h]);
        disposeKVCache(cache);
        const stitched = [0, 1].map((b) => pieces.flatMap((p) => p[b]!));
        assertClose(flat(stitched), flat(full), 1e-5);
      });
      tf.dispose([x, ...Object.values(params)]);
    });
  }

  it('appending returns a new cache and leaves the old one intact', () => {
    const c0 = createKVCache({ batch: 1, numKvHeads: 2, dHead: 3 });
    const c1 = appendToKVCache(c0, tf.ones([1, 2, 2, 3]), tf.ones([1, 2, 2, 3]));
    const c2 = appendToKVCache(c1, tf.zeros([1, 2, 1, 3]), tf.zeros([1, 2, 1, 3]));
    assert.equal(c1.length, 2);
    assert.equal(c2.length, 3);
    assert.deepEqual(c1.k.shape, [1, 2, 2, 3]);
    assert.deepEqual(flat(c2.v.arraySync()).filter((x) => x === 1).length, 12);
    assert.throws(() => appendToKVCache(c1, tf.ones([1, 3, 1, 3]), tf.ones([1, 3, 1, 3])), /new keys \[1, 2, n, 3\].*got \[1, 3, 1, 3\]/);
    [c0, c1, c2].forEach(disposeKVCache);
  });

  it('kvCacheBytes = 2 · layers · batch · kvHeads · length · dHead · bytes', () => {
    assert.equal(kvCacheBytes({ layers: 32, numKvHeads: 32, dHead: 128, length: 4096, bytesPerValue: 2 }), 2 * 1024 ** 3);
    assert.equal(kvCacheBytes({ layers: 32, numKvHeads: 8, dHead: 128, length: 4096, bytesPerValue: 2 }), 512 * 1024 ** 2);
  });
});
