/**
 * Alignment (scoring) functions (对齐函数): how well each query matches each key.
 * All take q [..., nq, dq] and k [..., nk, dk] and return scores [..., nq, nk].
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './matmul.js';
import { checkShapes } from '../shapes.js';

/** Dot-product score s_ij = q_i · k_j (Luong et al. 2015, "dot"). */
export function dotScores(q: tf.Tensor, k: tf.Tensor): tf.Tensor {
  checkShapes({ queries: [q, ['...', 'nq', 'd']], keys: [k, ['...', 'nk', 'd']] });
  return batchedMatMul(q, k, false, true);
}

/**
 * Scaled dot-product score s_ij = q_i · k_j / √d (Vaswani et al. 2017). Dividing by √d keeps the
 * scores' variance near 1 for unit-variance q and k, so the softmax does not saturate.
 */
export function scaledDotScores(q: tf.Tensor, k: tf.Tensor): tf.Tensor {
  const { d } = checkShapes({ queries: [q, ['...', 'nq', 'd']], keys: [k, ['...', 'nk', 'd']] });
  return tf.tidy(() => batchedMatMul(tf.mul(q, 1 / Math.sqrt(d!)), k, false, true));
}

/** General (bilinear) score s_ij = q_i W k_jᵀ with W [dq, dk] (Luong et al. 2015, "general"). */
export function generalScores(q: tf.Tensor, k: tf.Tensor, w: tf.Tensor): tf.Tensor {
  checkShapes({ queries: [q, ['...', 'nq', 'dq']], keys: [k, ['...', 'nk', 'dk']], w: [w, ['dq', 'dk']] });
  return tf.tidy(() => batchedMatMul(batchedMatMul(q, w), k, false, true));
}

/** Parameters of additive attention: wq [dq, da], wk [dk, da], v [da]. */
export interface AdditiveParams {
  wq: tf.Tensor;
  wk: tf.Tensor;
  v: tf.Tensor;
}

/**
 * Additive (concat) score s_ij = vᵀ tanh(Wq q_i + Wk k_j) (Bahdanau et al. 2014). Writing
 * Wq q_i and Wk k_j separately (rather than W [q; k]) computes each projection once; the
 * broadcast sum is [..., nq, nk, da], so memory grows as nq·nk·da.
 */
export function additiveScores(q: tf.Tensor, k: tf.Tensor, params: AdditiveParams): tf.Tensor {
  checkShapes({
    queries: [q, ['...', 'nq', 'dq']],
    keys: [k, ['...', 'nk', 'dk']],
    wq: [params.wq, ['dq', 'da']],
    wk: [params.wk, ['dk', 'da']],
    v: [params.v, ['da']],
  });
  return tf.tidy(() => {
    const pq = tf.expandDims(batchedMatMul(q, params.wq), -2); // [..., nq, 1, da]
    const pk = tf.expandDims(batchedMatMul(k, params.wk), -3); // [..., 1, nk, da]
    const hidden = tf.tanh(tf.add(pq, pk)); // [..., nq, nk, da]
    return tf.squeeze(batchedMatMul(hidden, tf.reshape(params.v, [-1, 1])), [-1]);
  });
}

/**
 * Cosine score s_ij = cos(q_i, k_j) / τ (Graves et al. 2014 content addressing; Luo et al. 2018
 * cosine normalisation). Bounded in [−1/τ, 1/τ]; a small τ (e.g. 0.1) sharpens the softmax.
 */
export function cosineScores(q: tf.Tensor, k: tf.Tensor, options: { temperature?: number; epsilon?: number } = {}): tf.Tensor {
  checkShapes({ queries: [q, ['...', 'nq', 'd']], keys: [k, ['...', 'nk', 'd']] });
  const { temperature = 1, epsilon = 1e-8 } = options;
  if (!(temperature > 0)) throw new Error(`cosineScores: temperature must be > 0, got ${temperature}`);
  return tf.tidy(() => {
    // √(|x|² + ε²) rather than max(|x|, ε): smooth, so the gradient at x = 0 is finite too.
    const unit = (x: tf.Tensor) => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), epsilon * epsilon)));
    return tf.div(batchedMatMul(unit(q), unit(k), false, true), temperature);
  });
}
