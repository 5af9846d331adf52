/**
 * Linear attention (线性注意力): replace exp(q·k) by a feature-map product φ(q)·φ(k), so that
 * Σ_j φ(q_i)·φ(k_j) v_j = φ(q_i)ᵀ (Σ_j φ(k_j) v_jᵀ) costs O(n·d·dv) instead of O(n²·d).
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './matmul.js';
import { checkPositiveInt, checkShapes } from '../shapes.js';
import { Rng } from '../random.js';
import { checkQKV } from './core.js';

export interface LinearOptions {
  causal?: boolean;
  /** Causal form: positions per chunk (default 64). */
  chunkSize?: number;
  /** Added to the normaliser φ(q)·Σφ(k) (default 1e-6). */
  epsilon?: number;
}

/** φ(x) = elu(x) + 1 > 0 (Katharopoulos et al. 2020). */
export function eluFeatureMap(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.elu(x), 1));
}

/**
 * Attention with precomputed features φ(q) [..., n, m], φ(k) [..., nk, m] (all ≥ 0):
 *
 *   out_i = φ(q_i)ᵀ S / (φ(q_i)ᵀ z + ε),   S = Σ_j φ(k_j) v_jᵀ [m, dv],  z = Σ_j φ(k_j) [m]
 *
 * Causal (sums over j ≤ i, nq = nk): a prefix sum over chunks of C positions. Inside a chunk the
 * small quadratic form (φQ_c φK_cᵀ ⊙ tril) V_c; across chunks the exclusive cumulative sum of the
 * chunk states S_c = φK_cᵀ V_c. Memory O(n·C + (n/C)·m·dv), never n·m·dv for a full prefix sum.
 */
export function linearAttentionFromFeatures(phiQ: tf.Tensor, phiK: tf.Tensor, v: tf.Tensor, options: LinearOptions = {}): tf.Tensor {
  const { nq, nk, dv } = checkShapes({
    'φ(queries)': [phiQ, ['...', 'nq', 'm']],
    'φ(keys)': [phiK, ['...', 'nk', 'm']],
    values: [v, ['...', 'nk', 'dv']],
  }) as { nq: number; nk: number; m: number; dv: number };
  const epsilon = options.epsilon ?? 1e-6;
  if (!options.causal) {
    return tf.tidy(() => {
      const state = batchedMatMul(phiK, v, true, false); // [..., m, dv]
      const z = tf.sum(phiK, -2, true); // [..., 1, m]
      const numerator = batchedMatMul(phiQ, state); // [..., nq, dv]
      const denominator = batchedMatMul(phiQ, z, false, true); // [..., nq, 1]
      return tf.div(numerator, tf.add(denominator, epsilon));
    });
  }
  if (nq !== nk) throw new Error(`causal linear attention needs queries and keys of the same length, got nq=${nq}, nk=${nk}`);
  const n = nq;
  const C = Math.min(options.chunkSize ?? 64, n);
  checkPositiveInt('chunkSize', C);
  const chunks = Math.ceil(n / C);
  const padded = chunks * C;
  const lead = phiQ.shape.slice(0, -2);
  const axis = phiQ.rank - 2;
  const m = phiQ.shape[phiQ.rank - 1]!;
  return tf.tidy(() => {
    // Padding goes at the end, after every real position, so causality hides it from real queries.
    const toChunks = (x: tf.Tensor, d: number) => {
      const p = padded === n ? x : tf.pad(x, x.shape.map((_, i) => (i === axis ? [0, padded - n] : [0, 0])) as [number, number][]);
      return tf.reshape(p, [...lead, chunks, C, d]);
    };
    const qc = toChunks(phiQ, m);
    const kc = toChunks(phiK, m);
    const vc = toChunks(v, dv);
    const chunkAxis = lead.length;
    // State before each chunk: exclusive prefix sums of the per-chunk states.
    const prevState = tf.cumsum(batchedMatMul(kc, vc, true, false), chunkAxis, true); // [..., chunks, m, dv]
    const prevZ = tf.cumsum(tf.sum(kc, -2, true), chunkAxis, true); // [..., chunks, 1, m]
    const tril = tf.linalg.bandPart(tf.ones([C, C]), -1, 0);
    const local = tf.mul(batchedMatMul(qc, kc, false, true), tril); // [..., chunks, C, C]
    const numerator = tf.add(batchedMatMul(local, vc), batchedMatMul(qc, prevState));
    const denominator = tf.add(tf.sum(local, -1, true), batchedMatMul(qc, prevZ, false, true));
    const out = tf.reshape(tf.div(numerator, tf.add(denominator, epsilon)), [...lead, padded, dv]);
    return padded === n ? out : tf.slice(out, out.shape.map(() => 0), [...lead, n, dv]);
  });
}

/**
 * Linear attention of Katharopoulos et al. 2020 ("Transformers are RNNs") with φ = elu + 1.
 * q [..., nq, d], k [..., nk, d], v [..., nk, dv] → [..., nq, dv]. Time and memory O(n) in the
 * sequence length; `causal` uses the chunked prefix-sum form (the "RNN" view).
 */
export function linearAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: LinearOptions = {}): tf.Tensor {
  checkQKV(q, k, v);
  return tf.tidy(() => linearAttentionFromFeatures(eluFeatureMap(q), eluFeatureMap(k), v, options));
}

/**
 * The same quantity in quadratic form, for teaching and checking:
 * out = (A ⊙ M) V / rowsum(A ⊙ M),  A = φ(Q) φ(K)ᵀ [..., nq, nk], M = causal mask or all ones.
 */
export function linearAttentionQuadratic(phiQ: tf.Tensor, phiK: tf.Tensor, v: tf.Tensor, options: { causal?: boolean; epsilon?: number } = {}): tf.Tensor {
  const { nq, nk } = checkShapes({ 'φ(queries)': [phiQ, ['...', 'nq', 'm']], 'φ(keys)': [phiK, ['...', 'nk', 'm']], values: [v, ['...', 'nk', 'dv']] });
  return tf.tidy(() => {
    let a = batchedMatMul(phiQ, phiK, false, true);
    if (options.causal) a = tf.mul(a, tf.linalg.bandPart(tf.ones([nq!, nk!]), -1, nk! - nq! >= 0 ? nk! - nq! : 0));
    return tf.div(batchedMatMul(a, v), tf.add(tf.sum(a, -1, true), options.epsilon ?? 1e-6));
  });
}

// ---------------------------------------------------------------------------------------------
// Performer FAVOR+ (Choromanski et al. 2021): positive orthogonal random features for softmax.

/**
 * Random projections ω [m, d] for FAVOR+: blocks of d orthonormal directions (Gram–Schmidt on
 * seeded Gaussian rows), each row rescaled to the length of an independent Gaussian d-vector so
 * that every ω_r is marginally N(0, I). Orthogonal rows lower the estimator's variance.
 */
export function performerProjection(options: { d: number; numFeatures: number; seed: number; orthogonal?: boolean }): tf.Tensor2D {
  const { d, numFeatures: m, seed, orthogonal = true } = options;
  checkPositiveInt('d', d);
  checkPositiveInt('numFeatures', m);
  const rng = new Rng(seed);
  const gaussian = () => Array.from({ length: d }, () => rng.normal());
  const rows: number[][] = [];
  while (rows.length < m) {
    const block: number[][] = [];
    for (let r = 0; r < d && rows.length + block.length < m; r++) {
      let u = gaussian();
      if (orthogonal) {
        for (const b of block) {
          const p = u.reduce((s, x, i) => s + x * b[i]!, 0);
          u = u.map((x, i) => x - p * b[i]!);
        }
        const norm = Math.hypot(...u);
        u = u.map((x) => x / norm);
        const length = Math.hypot(...gaussian());
        block.push(u);
        rows.push(u.map((x) => x * length));
      } else {
        rows.push(u);
      }
    }
  }
  return tf.tensor2d(rows.flat(), [m, d]);
}

/**
 * FAVOR+ positive features φ(x) = exp(ω x̂ − |x̂|²/2 − c) / √m with x̂ = x / d^{1/4}, so that
 * E[φ(q)·φ(k)] = exp(q·k/√d) · e^{−2c}: the softmax kernel with its 1/√d scale. The constant c
 * (the per-row max for queries, one max over all keys for keys) only guards exp() against
 * overflow; it cancels in the normalised output.
 */
export function favorFeatures(x: tf.Tensor, projection: tf.Tensor, options: { isQuery: boolean }): tf.Tensor {
  const { d } = checkShapes({ x: [x, ['...', 'n', 'd']], projection: [projection, ['m', 'd']] });
  const m = projection.shape[0]!;
  return tf.tidy(() => {
    const xs = tf.mul(x, Math.pow(d!, -0.25));
    const proj = batchedMatMul(xs, projection, false, true); // [..., n, m]
    const half = tf.mul(tf.sum(tf.square(xs), -1, true), 0.5); // [..., n, 1]
    const logits = tf.sub(proj, half);
    const c = options.isQuery ? tf.max(logits, -1, true) : tf.max(logits, [-2, -1], true);
    return tf.mul(tf.exp(tf.sub(logits, c)), 1 / Math.sqrt(m));
  });
}

/**
 * Performer attention (FAVOR+): softmax attention approximated by linear attention on positive
 * orthogonal random features. Pass `projection` (performerProjection) to reuse features across
 * calls, or `numFeatures` + `seed` to draw them. q [..., nq, d] → [..., nq, dv].
 */
export function performerAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  options: LinearOptions & { projection?: tf.Tensor; numFeatures?: number; seed?: number } = {},
): tf.Tensor {
  const { dk } = checkQKV(q, k, v);
  return tf.tidy(() => {
    const projection = options.projection ?? performerProjection({ d: dk, numFeatures: options.numFeatures ?? 4 * dk, seed: options.seed ?? 0 });
    const phiQ = favorFeatures(q, projection, { isQuery: true });
    const phiK = favorFeatures(k, projection, { isQuery: false });
    return linearAttentionFromFeatures(phiQ, phiK, v, options);
  });
}
