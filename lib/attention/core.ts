/**
 * Scaled dot-product attention (缩放点积注意力), the formula every later lesson builds on:
 *
 *   Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + B, mask) V          (Vaswani et al. 2017)
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './matmul.js';
import { checkBroadcastable, checkShapes } from '../shapes.js';
import { maskedSoftmax, type Mask } from './softmax.js';
import { causalMask, combineMasks } from './masks.js';

export interface AttentionOptions {
  /** 1 = may attend, 0 = masked; broadcastable to the scores [..., nq, nk]. */
  mask?: Mask | null;
  /** Add the causal mask (query i sees keys j ≤ i + nk − nq). */
  causal?: boolean;
  /** Score scale; default 1/√d_k. */
  scale?: number;
  /** Additive score bias broadcastable to [..., nq, nk] (ALiBi, T5, Shaw-style relative terms). */
  bias?: tf.Tensor | null;
}

export type AttentionResult = {
  /** [..., nq, dv] */
  output: tf.Tensor;
  /** Attention weights (注意力权重) [..., nq, nk]; each row sums to 1 (or is all 0 if fully masked). */
  weights: tf.Tensor;
};

/** Validate q, k, v for attention and return the sizes. */
export function checkQKV(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): { nq: number; nk: number; dk: number; dv: number } {
  const s = checkShapes({
    queries: [q, ['...', 'nq', 'dk']],
    keys: [k, ['...', 'nk', 'dk']],
    values: [v, ['...', 'nk', 'dv']],
  });
  return { nq: s.nq!, nk: s.nk!, dk: s.dk!, dv: s.dv! };
}

/**
 * softmax(q kᵀ · scale + bias, mask) v for q [..., nq, dk], k [..., nk, dk], v [..., nk, dv].
 * Returns the output [..., nq, dv] and the weights [..., nq, nk]. The scale is applied to q
 * (nq·dk multiplies) rather than to the scores (nq·nk). Without mask or bias this is three
 * kernels: two batched matmuls and one softmax.
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): AttentionResult {
  const { nq, nk, dk } = checkQKV(q, k, v);
  const scoreShape = [...q.shape.slice(0, -2), nq, nk];
  if (options.mask) checkBroadcastable('mask', options.mask.shape, 'scores', scoreShape);
  if (options.bias) checkBroadcastable('bias', options.bias.shape, 'scores', scoreShape);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  return tf.tidy(() => {
    let scores = batchedMatMul(scale === 1 ? q : tf.mul(q, scale), k, false, true);
    if (options.bias) scores = tf.add(scores, options.bias);
    const mask = options.causal ? combineMasks(options.mask, causalMask(nq, nk)) : (options.mask ?? null);
    const weights = maskedSoftmax(scores, mask);
    return { output: batchedMatMul(weights, v), weights };
  });
}
