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
 * ±1e4 are fine. A row where nothing is allowed gives all zeros, never NaN.
 * The gradient is written by hand (∂L/∂s = w ⊙ (g − Σ_j g_j w_j)) so that it is NaN-free too, and
 * masked entries get exactly zero gradient. (Bridle 1990 named the softmax; the masking is the
 * Transformer's, Vaswani et al. 2017.)
 */
export function maskedSoftmax(scores: tf.Tensor, mask?: Mask | null): tf.Tensor {
  if (scores.rank < 1) throw new Error(`maskedSoftmax: scores must have at least one axis, got shape [${scores.shape.join(', ')}]`);
  if (mask === undefined || mask === null) return tf.softmax(scores);
  checkBroadcastable('mask', mask.shape, 'scores', scores.shape);
  // Work at the mask's own (often much smaller) shape and let the adds broadcast, so the mask is
  // never expanded to the size of the scores:
  //   bias = 0 where allowed, −1e30 where masked (finite: exp(−1e30 − max) is exactly 0, and a
  //          fully masked row stays finite instead of becoming −∞ − (−∞) = NaN);
  //   keep = 1 for rows with at least one allowed key, 0 for fully masked rows.
  const { bias, keep } = tf.tidy(() => {
    const allowed = mask.dtype === 'bool' ? mask : tf.notEqual(mask, 0);
    return {
      bias: tf.mul(tf.sub(1, tf.cast(allowed, 'float32')), -1e30),
      keep: tf.cast(tf.any(allowed, -1, true), 'float32'),
    };
  });
  const softmaxWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const s = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    // tf.softmax subtracts the row max itself; a fully masked row comes out uniform, and keep
    // turns it into zeros.
    const weights = tf.tidy(() => tf.mul(tf.softmax(tf.add(s, bias)), keep));
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
    tf.dispose([bias, keep]);
  }
}
