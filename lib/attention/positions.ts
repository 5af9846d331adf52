/**
 * Position information (位置编码): absolute (sinusoidal, learned) and relative (Shaw et al., T5
 * buckets, ALiBi). RoPE lives in rope.ts. Relative methods produce score biases [heads, nq, nk]
 * (pass them as `bias` to scaledDotProductAttention or as `position` to multiHeadAttention).
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './matmul.js';
import { checkPositiveInt, checkShapes } from '../shapes.js';
import { Rng } from '../random.js';
import { maskedSoftmax, type Mask } from './softmax.js';
import { causalMask, combineMasks } from './masks.js';
import { checkQKV, type AttentionResult } from './core.js';

/**
 * Sinusoidal positions (正弦位置编码) [n, d] (Vaswani et al. 2017):
 *   PE[p, 2i] = sin(p / 10000^(2i/d)),  PE[p, 2i+1] = cos(p / 10000^(2i/d)).
 */
export function sinusoidalPositions(n: number, d: number, options: { offset?: number; base?: number } = {}): tf.Tensor2D {
  checkPositiveInt('n', n);
  checkPositiveInt('d', d);
  const { offset = 0, base = 10000 } = options;
  const data = new Float32Array(n * d);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < d; i += 2) {
      const angle = (p + offset) / Math.pow(base, i / d);
      data[p * d + i] = Math.sin(angle);
      if (i + 1 < d) data[p * d + i + 1] = Math.cos(angle);
    }
  }
  return tf.tensor2d(data, [n, d]);
}

/** A learned position table (可学习位置编码) [maxLength, d], N(0, 0.02²) like GPT-2; trainable. */
export function initLearnedPositions(options: { maxLength: number; dModel: number; seed: number; name?: string }): tf.Variable {
  checkPositiveInt('maxLength', options.maxLength);
  checkPositiveInt('dModel', options.dModel);
  return tf.variable(tf.tidy(() => tf.randomNormal([options.maxLength, options.dModel], 0, 0.02, 'float32', options.seed)), true, options.name);
}

/** Rows offset … offset+n−1 of a learned table [maxLength, d] → [n, d] (differentiable). */
export function learnedPositions(table: tf.Tensor, n: number, offset = 0): tf.Tensor2D {
  const { maxLength } = checkShapes({ table: [table, ['maxLength', 'd']] });
  if (offset + n > maxLength!) throw new Error(`learnedPositions: positions ${offset}…${offset + n - 1} exceed the table's maxLength=${maxLength}`);
  return tf.slice(table, [offset, 0], [n, -1]) as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------
// Shaw et al. 2018: clipped relative position embeddings added to keys and values.

/** idx[i, j] = clip(j − i, −K, K) + K ∈ [0, 2K] (query i at absolute position i + nk − nq). */
export function relativePositionIndex(nq: number, nk: number, maxDistance: number): number[][] {
  const shift = nk - nq;
  return Array.from({ length: nq }, (_, i) =>
    Array.from({ length: nk }, (_, j) => Math.max(-maxDistance, Math.min(maxDistance, j - (i + shift))) + maxDistance),
  );
}

export interface ShawParams {
  /** Relative key embeddings a^K [2K+1, d]. */
  relK: tf.Tensor;
  /** Relative value embeddings a^V [2K+1, d] (optional). */
  relV?: tf.Tensor;
}

/** Trainable Shaw tables relK, relV [2K+1, dHead] ~ N(0, 0.02²). */
export function initShawRelative(options: { maxDistance: number; dHead: number; seed: number }): { relK: tf.Variable; relV: tf.Variable } {
  const rng = new Rng(options.seed);
  const rows = 2 * options.maxDistance + 1;
  return {
    relK: tf.variable(tf.tidy(() => tf.randomNormal([rows, options.dHead], 0, 0.02, 'float32', rng.childSeed())), true),
    relV: tf.variable(tf.tidy(() => tf.randomNormal([rows, options.dHead], 0, 0.02, 'float32', rng.childSeed())), true),
  };
}

/**
 * Self-attention with relative position representations (Shaw et al. 2018):
 *
 *   e_ij = q_i · (k_j + a^K_{ij}) / √d,   out_i = Σ_j w_ij (v_j + a^V_{ij}),   a_{ij} = a[clip(j−i, −K, K)]
 *
 * q [..., nq, d], k [..., nk, d], v [..., nk, d], relK/relV [2K+1, d]. The relative terms are
 * computed through a one-hot [nq, nk, 2K+1] selector: (q · a^Kᵀ)[i, idx_ij] and (w · onehot) a^V,
 * which never copies a table per (i, j) pair into the batch.
 */
export function shawRelativeAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  params: ShawParams,
  options: { maxDistance: number; mask?: Mask | null; causal?: boolean; scale?: number },
): AttentionResult {
  const { nq, nk, dk, dv } = checkQKV(q, k, v);
  const K = options.maxDistance;
  checkShapes({ relK: [params.relK, [2 * K + 1, 'dk']] }, { dk });
  if (params.relV) checkShapes({ relV: [params.relV, [2 * K + 1, 'dv']] }, { dv });
  return tf.tidy(() => {
    const scale = options.scale ?? 1 / Math.sqrt(dk);
    const index = tf.tensor2d(relativePositionIndex(nq, nk, K), [nq, nk], 'int32');
    const selector = tf.oneHot(index, 2 * K + 1).toFloat(); // [nq, nk, 2K+1]
    const qs = tf.mul(q, scale);
    const content = batchedMatMul(qs, k, false, true); // [..., nq, nk]
    const qRel = tf.expandDims(batchedMatMul(qs, params.relK, false, true), -2); // [..., nq, 1, 2K+1]
    const position = tf.squeeze(batchedMatMul(qRel, selector, false, true), [-2]); // [..., nq, nk]
    const mask = options.causal ? combineMasks(options.mask, causalMask(nq, nk)) : (options.mask ?? null);
    const weights = maskedSoftmax(tf.add(content, position), mask);
    let output = batchedMatMul(weights, v);
    if (params.relV) {
      const perOffset = tf.squeeze(batchedMatMul(tf.expandDims(weights, -2), selector), [-2]); // [..., nq, 2K+1]
      output = tf.add(output, batchedMatMul(perOffset, params.relV));
    }
    return { output, weights };
  });
}

// ---------------------------------------------------------------------------------------------
// T5 (Raffel et al. 2020): a learned scalar bias per head and per log-spaced distance bucket.

/**
 * The bucket of a relative position r = j − i (key minus query), as in T5's
 * `_relative_position_bucket`: exact buckets for small |r|, log-spaced ones up to maxDistance,
 * the last bucket beyond. Bidirectional: half the buckets for r > 0.
 */
export function t5Bucket(relative: number, options: { bidirectional?: boolean; numBuckets?: number; maxDistance?: number } = {}): number {
  const { bidirectional = true, maxDistance = 128 } = options;
  let numBuckets = options.numBuckets ?? 32;
  let bucket = 0;
  let n = -relative;
  if (bidirectional) {
    numBuckets = Math.floor(numBuckets / 2);
    if (n < 0) bucket += numBuckets;
    n = Math.abs(n);
  } else {
    n = Math.max(n, 0);
  }
  const maxExact = Math.floor(numBuckets / 2);
  if (n < maxExact) return bucket + n;
  const logBucket = maxExact + Math.floor((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (numBuckets - maxExact));
  return bucket + Math.min(logBucket, numBuckets - 1);
}

/** Trainable T5 bias table [numBuckets, heads], zeros (T5 initialises it randomly; zeros = no bias). */
export function initT5Bias(options: { numBuckets?: number; numHeads: number; seed: number }): tf.Variable {
  const numBuckets = options.numBuckets ?? 32;
  return tf.variable(tf.tidy(() => tf.randomNormal([numBuckets, options.numHeads], 0, 0.02, 'float32', options.seed)), true);
}

/** T5 relative bias [heads, nq, nk] = table[bucket(j − i), head] (differentiable in table). */
export function t5RelativeBias(
  table: tf.Tensor,
  nq: number,
  nk: number,
  options: { bidirectional?: boolean; maxDistance?: number; offset?: number } = {},
): tf.Tensor3D {
  const { numBuckets } = checkShapes({ table: [table, ['numBuckets', 'heads']] });
  const offset = options.offset ?? nk - nq;
  const buckets = new Int32Array(nq * nk);
  for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) buckets[i * nk + j] = t5Bucket(j - (i + offset), { ...options, numBuckets });
  return tf.tidy(() => {
    const gathered = tf.gather(table, tf.tensor1d(buckets, 'int32')); // [nq*nk, heads]
    return tf.transpose(tf.reshape(gathered, [nq, nk, -1]), [2, 0, 1]) as tf.Tensor3D;
  });
}

// ---------------------------------------------------------------------------------------------
// ALiBi (Press et al. 2022): a fixed linear penalty on distance, one slope per head.

/**
 * Head slopes m_h: the geometric sequence 2^(−8/H), 2^(−16/H), …; for H not a power of two,
 * the paper's rule: the slopes of the closest power of two below, then every other slope of 2H.
 */
export function alibiSlopes(numHeads: number): number[] {
  checkPositiveInt('numHeads', numHeads);
  const powerOfTwo = (h: number) => Array.from({ length: h }, (_, i) => Math.pow(2, (-8 * (i + 1)) / h));
  const lower = Math.pow(2, Math.floor(Math.log2(numHeads)));
  if (lower === numHeads) return powerOfTwo(numHeads);
  return [...powerOfTwo(lower), ...powerOfTwo(2 * lower).filter((_, i) => i % 2 === 0).slice(0, numHeads - lower)];
}

/**
 * ALiBi bias [heads, nq, nk] = −m_h · |i − j| (query i at position i + nk − nq). With a causal
 * mask only j ≤ i matters, where this is the paper's −m_h (i − j).
 */
export function alibiBias(numHeads: number, nq: number, nk = nq, options: { slopes?: number[] } = {}): tf.Tensor3D {
  const slopes = options.slopes ?? alibiSlopes(numHeads);
  if (slopes.length !== numHeads) throw new Error(`alibiBias: ${slopes.length} slopes for ${numHeads} heads`);
  const shift = nk - nq;
  const data = new Float32Array(numHeads * nq * nk);
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) data[(h * nq + i) * nk + j] = -slopes[h]! * Math.abs(i + shift - j);
  }
  return tf.tensor3d(data, [numHeads, nq, nk]);
}
