/**
 * Scaled dot-product attention (缩放点积注意力), the formula every later lesson builds on:
 *
 *   Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + B, mask) V          (Vaswani et al. 2017)
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul, splitBatches } from './matmul.js';
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
 * kernels: two batched matmuls and one softmax. (On wasm, when each head's product is large, the
 * same steps run per (batch, head) entry with 2-D matmuls, which that backend does up to 15×
 * faster; see attendPerEntry and splitBatches.)
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): AttentionResult {
  const { nq, nk, dk } = checkQKV(q, k, v);
  const scoreShape = [...q.shape.slice(0, -2), nq, nk];
  if (options.mask) checkBroadcastable('mask', options.mask.shape, 'scores', scoreShape);
  if (options.bias) checkBroadcastable('bias', options.bias.shape, 'scores', scoreShape);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const dv = v.shape[v.rank - 1]!;
  return tf.tidy(() => {
    const mask = options.causal ? combineMasks(options.mask, causalMask(nq, nk)) : (options.mask ?? null);
    if (splitBatches(nq, Math.max(dk, dv), nk)) return attendPerEntry(q, k, v, scale, mask, options.bias ?? null) as AttentionResult;
    let scores = batchedMatMul(scale === 1 ? q : tf.mul(q, scale), k, false, true);
    if (options.bias) scores = tf.add(scores, options.bias);
    const weights = maskedSoftmax(scores, mask);
    return { output: batchedMatMul(weights, v), weights };
  });
}

/**
 * The output of scaledDotProductAttention without its weights, for callers that do not need
 * them (local and sparse attention, models at inference). Same result; on wasm each (batch, head)
 * entry's scores and weights are freed as soon as its output is computed, so the live memory is
 * one entry's [nq, nk] instead of all of them.
 */
export function attentionOutput(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): tf.Tensor {
  const { nq, nk, dk } = checkQKV(q, k, v);
  const scoreShape = [...q.shape.slice(0, -2), nq, nk];
  if (options.mask) checkBroadcastable('mask', options.mask.shape, 'scores', scoreShape);
  if (options.bias) checkBroadcastable('bias', options.bias.shape, 'scores', scoreShape);
  if (!splitBatches(nq, Math.max(dk, v.shape[v.rank - 1]!), nk)) return tf.tidy(() => scaledDotProductAttention(q, k, v, options).output);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  return tf.tidy(() => {
    const mask = options.causal ? combineMasks(options.mask, causalMask(nq, nk)) : (options.mask ?? null);
    return attendPerEntry(q, k, v, scale, mask, options.bias ?? null, false).output;
  });
}

/**
 * The slice of `t` (broadcastable to [...batch, a, b]) that applies to batch entry `entry`
 * (flattened index), as a tensor broadcastable to [a, b].
 */
function entrySlice(t: tf.Tensor, batch: number[], entry: number): tf.Tensor {
  const tail = t.shape.slice(-2);
  const lead = [...Array(Math.max(0, batch.length - (t.rank - 2))).fill(1), ...t.shape.slice(0, Math.max(0, t.rank - 2))] as number[];
  if (t.rank <= 2 || lead.every((x) => x === 1)) return t.rank <= 2 ? t : tf.reshape(t, tail);
  // Multi-index of the entry in `batch`, mapped into t's leading axes (size-1 axes broadcast).
  let rest = entry;
  let index = 0;
  let stride = 1;
  for (let axis = batch.length - 1; axis >= 0; axis--) {
    const i = rest % batch[axis]!;
    rest = Math.floor(rest / batch[axis]!);
    if (lead[axis]! > 1) index += i * stride;
    stride *= lead[axis]!;
  }
  const count = lead.reduce((s, x) => s * x, 1);
  return tf.reshape(tf.slice(tf.reshape(t, [count, ...tail]), [index, 0, 0], [1, ...tail]), tail);
}

/**
 * The same computation as 2-D products per batch entry (head), for the wasm backend, whose
 * batched and transposed matmuls are slow and whose slices of large tensors are slow (see
 * matmul.ts): slice only q, k, v, transpose each k_i explicitly, and stack the results.
 */
function attendPerEntry(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  scale: number,
  mask: tf.Tensor | null,
  bias: tf.Tensor | null,
  keepWeights = true,
): { output: tf.Tensor; weights: tf.Tensor | null } {
  const batch = q.shape.slice(0, -2);
  const [nq, dk] = q.shape.slice(-2) as [number, number];
  const [nk, dv] = v.shape.slice(-2) as [number, number];
  const count = batch.reduce((s, x) => s * x, 1);
  const split = (x: tf.Tensor, rows: number, cols: number) => (count === 1 ? [tf.reshape(x, [rows, cols])] : tf.unstack(tf.reshape(x, [count, rows, cols])));
  const qs = split(scale === 1 ? q : tf.mul(q, scale), nq, dk);
  const ks = split(k, nk, dk);
  const vs = split(v, nk, dv);
  const weights: tf.Tensor[] = [];
  const outputs: tf.Tensor[] = [];
  for (let i = 0; i < count; i++) {
    const { w, o } = tf.tidy(() => {
      let s = tf.matMul(qs[i]!, tf.transpose(ks[i]!));
      if (bias) s = tf.add(s, entrySlice(bias, batch, i));
      const w = maskedSoftmax(s, mask ? entrySlice(mask, batch, i) : null);
      const o = tf.matMul(w, vs[i]!);
      return keepWeights ? { w, o } : { o };
    });
    if (w) weights.push(w);
    outputs.push(o);
  }
  const merge = (parts: tf.Tensor[], cols: number) => tf.reshape(count === 1 ? parts[0]! : tf.stack(parts), [...batch, nq, cols]);
  return { output: merge(outputs, dv), weights: keepWeights ? merge(weights, nk) : null };
}
