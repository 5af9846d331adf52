/**
 * Masked softmax (带掩码的 softmax): the normalisation step of every attention variant.
 */
import * as tf from '@tensorflow/tfjs';
import { checkBroadcastable } from '../shapes.js';

/** A mask: 1/true = may attend, 0/false = masked. Broadcastable to the scores. */
export type Mask = tf.Tensor;

/** Turn a 0/1 or boolean mask into a boolean tensor of exactly `shape` (for tf.where). */
export function maskToBool(mask: Mask, shape: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    const asBool = mask.dtype === 'bool' ? mask : tf.notEqual(mask, 0);
    return asBool.shape.length === shape.length && asBool.shape.every((s, i) => s === shape[i])
      ? asBool.clone()
      : tf.broadcastTo(asBool, shape as number[]);
  });
}

/**
 * softmax(scores) over the last axis, restricted to the positions the mask allows:
 *
 *   w_ij = m_ij · exp(s_ij − μ_i) / Σ_j' m_ij' · exp(s_ij' − μ_i),   μ_i = max_{j: m_ij=1} s_ij
 *
 * Subtracting the row maximum μ_i over the allowed entries keeps exp() in range, so logits of
 * ±1e4 are fine. A row where nothing is allowed gives all zeros (0 / max(0, tiny)), never NaN.
 * The gradient is written by hand (∂L/∂s = w ⊙ (g − Σ_j g_j w_j)) so that it is NaN-free too, and
 * masked entries get exactly zero gradient. (Bridle 1990 named the softmax; the masking is the
 * Transformer's, Vaswani et al. 2017.)
 */
export function maskedSoftmax(scores: tf.Tensor, mask?: Mask | null): tf.Tensor {
  if (scores.rank < 1) throw new Error(`maskedSoftmax: scores must have at least one axis, got shape [${scores.shape.join(', ')}]`);
  if (mask === undefined || mask === null) return tf.softmax(scores);
  checkBroadcastable('mask', mask.shape, 'scores', scores.shape);
  const allowed = maskToBool(mask, scores.shape);
  const softmaxWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const s = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const weights = tf.tidy(() => {
      const negInf = tf.fill(s.shape, -Infinity);
      const rowMax = tf.max(tf.where(allowed, s, negInf), -1, true);
      // A fully masked row has max −∞; use 0 there so nothing below becomes NaN.
      const safeMax = tf.where(tf.isFinite(rowMax), rowMax, tf.zerosLike(rowMax));
      const shifted = tf.sub(tf.where(allowed, s, tf.broadcastTo(safeMax, s.shape)), safeMax);
      const e = tf.where(allowed, tf.exp(shifted), tf.zerosLike(s));
      const total = tf.maximum(tf.sum(e, -1, true), 1e-30);
      return tf.div(e, total);
    });
    save([weights]);
    return {
      value: weights,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor;
        const w = saved[0]!;
        return tf.mul(w, tf.sub(g, tf.sum(tf.mul(g, w), -1, true)));
      },
    };
  });
  try {
    return softmaxWithGrad(scores) as tf.Tensor;
  } finally {
    allowed.dispose();
  }
}
