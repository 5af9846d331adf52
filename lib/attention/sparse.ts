/**
 * Local (sliding-window) and sparse attention (局部注意力, 稀疏注意力): compute only the scores a
 * mask allows, so memory and time grow with the number of allowed pairs instead of n².
 */
import * as tf from '@tensorflow/tfjs';
import { checkPositiveInt, checkShapes, formatShape } from '../shapes.js';
import { batchedMatMul } from './matmul.js';
import { maskedSoftmax } from './softmax.js';
import { attentionOutput, checkQKV } from './core.js';
import { maskFromPattern, patternKeys, type AttentionPattern } from './masks.js';

export interface LocalOptions {
  /** Radius: query i sees keys j with |i − j| ≤ window (causal: i − window ≤ j ≤ i). */
  window: number;
  causal?: boolean;
  /** Queries per block, at least the window (default max(window, 16)). */
  blockSize?: number;
  scale?: number;
}

/**
 * Sliding-window attention (Luong et al. 2015 local attention; Beltagy et al. 2020 Longformer):
 * the same result as scaledDotProductAttention with slidingWindowMask(n, window), computed in
 * blocks. Cut the (padded) sequence into blocks of B ≥ window positions; the keys a query block c
 * can see all lie in blocks c − 1, c, c + 1 (c − 1, c when causal). Concatenating those three
 * shifted views of the key blocks gives [..., blocks, 3B, d] without any gather, one batched
 * matmul gives scores [..., blocks, B, 3B], and a fixed band mask keeps |i − j| ≤ window. Memory
 * O(n·3B) instead of O(n²). Self-attention only (q, k, v of the same length n). Returns the
 * output [..., n, dv]; for the weights (a picture) use scaledDotProductAttention with
 * slidingWindowMask.
 */
export function localAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: LocalOptions): tf.Tensor {
  const { nq: n, nk, dk, dv } = checkQKV(q, k, v);
  if (n !== nk) throw new Error(`localAttention is self-attention: expected queries and keys of the same length, got ${formatShape(q.shape)} and ${formatShape(k.shape)}`);
  const { window, causal = false } = options;
  if (!Number.isInteger(window) || window < 0) throw new Error(`localAttention: window must be a non-negative integer, got ${window}`);
  const w = Math.min(window, n - 1); // |i − j| ≤ n − 1 always, so larger windows change nothing
  const B = Math.min(Math.max(options.blockSize ?? 16, w, 1), Math.max(n, 1));
  checkPositiveInt('blockSize', B);
  if (B < w) throw new Error(`localAttention: blockSize ${B} must be at least the window ${w}`);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const blocks = Math.ceil(n / B);
  const lead = q.shape.slice(0, -2);
  const axis = q.rank - 2;
  const neighbours = causal ? [-1, 0] : [-1, 0, 1];
  const width = neighbours.length * B;

  // Band mask [blocks, B, width]: query i = cB + r, key j = (c − 1)B + t.
  const allowed = new Uint8Array(blocks * B * width);
  for (let c = 0; c < blocks; c++) {
    for (let r = 0; r < B; r++) {
      const i = c * B + r;
      for (let t = 0; t < width; t++) {
        const j = (c - 1) * B + t;
        const ok = i < n && j >= 0 && j < n && (causal ? j <= i && i - j <= w : Math.abs(i - j) <= w);
        allowed[(c * B + r) * width + t] = ok ? 1 : 0;
      }
    }
  }

  return tf.tidy(() => {
    const padRows = (x: tf.Tensor, before: number, after: number) =>
      tf.pad(x, x.shape.map((_, i) => (i === axis ? [before, after] : [0, 0])) as [number, number][]);
    const qBlocks = tf.reshape(padRows(q, 0, blocks * B - n), [...lead, blocks, B, dk]);
    // Key blocks with one zero block on each side: block c of the result sees blocks c − 1 … c + 1.
    const windows = (x: tf.Tensor, d: number) => {
      const kb = tf.reshape(padRows(x, B, blocks * B - n + B), [...lead, blocks + 2, B, d]);
      const shifted = neighbours.map((o) => tf.slice(kb, kb.shape.map((_, i) => (i === axis ? 1 + o : 0)), kb.shape.map((s, i) => (i === axis ? blocks : s))));
      return tf.concat(shifted, axis + 1); // [..., blocks, width, d]
    };
    const mask = tf.tensor3d(allowed, [blocks, B, width], 'bool');
    const output = attentionOutput(qBlocks, windows(k, dk), windows(v, dv), { mask, scale });
    const merged = tf.reshape(output, [...lead, blocks * B, dv]);
    return blocks * B === n ? merged : tf.slice(merged, merged.shape.map(() => 0), [...lead, n, dv]);
  });
}

/** Which keys each block of queries needs: the union of the allowed keys of its rows. */
export interface SparseLayout {
  nq: number;
  nk: number;
  blockSize: number;
  /** Per query block: the sorted key indices it gathers and its [rows, keys] 0/1 mask. */
  blocks: { start: number; rows: number; keys: Int32Array; mask: Uint8Array }[];
  /** Σ rows × keys over blocks: the number of scores actually computed. */
  computedScores: number;
  /** Number of allowed (i, j) pairs. */
  allowedPairs: number;
}

/**
 * Precompute the layout of a sparse pattern (or a [nq, nk] 0/1 mask) for sparseAttention. A
 * layout depends only on the pattern and the sizes, so models build it once and reuse it.
 */
export function sparseLayout(pattern: AttentionPattern | tf.Tensor, nq: number, nk = nq, blockSize = 64): SparseLayout {
  checkPositiveInt('blockSize', blockSize);
  let keysOf: (i: number) => number[];
  if (pattern instanceof tf.Tensor) {
    if (pattern.rank !== 2 || pattern.shape[0] !== nq || pattern.shape[1] !== nk) {
      throw new Error(`sparseLayout: expected mask [nq, nk] with nq=${nq}, nk=${nk}, got ${formatShape(pattern.shape)}`);
    }
    const data = pattern.dataSync();
    keysOf = (i) => {
      const out: number[] = [];
      for (let j = 0; j < nk; j++) if (data[i * nk + j]) out.push(j);
      return out;
    };
  } else {
    keysOf = (i) => patternKeys(pattern, i, nk);
  }
  const blocks: SparseLayout['blocks'] = [];
  let computedScores = 0;
  let allowedPairs = 0;
  for (let start = 0; start < nq; start += blockSize) {
    const rows = Math.min(blockSize, nq - start);
    const perRow = Array.from({ length: rows }, (_, r) => keysOf(start + r));
    const union = [...new Set(perRow.flat())].sort((a, b) => a - b);
    const column = new Map(union.map((j, t) => [j, t]));
    const mask = new Uint8Array(rows * union.length);
    perRow.forEach((keys, r) => {
      for (const j of keys) mask[r * union.length + column.get(j)!] = 1;
      allowedPairs += keys.length;
    });
    computedScores += rows * union.length;
    blocks.push({ start, rows, keys: Int32Array.from(union), mask });
  }
  return { nq, nk, blockSize, blocks, computedScores, allowedPairs };
}

/**
 * Sparse attention (Child et al. 2019; Zaheer et al. 2020 BigBird): softmax over the allowed keys
 * only. `mask` is a [nq, nk] 0/1 tensor, an AttentionPattern (stridedPattern, fixedPattern,
 * bigBirdPattern, …) or a precomputed sparseLayout. For each block of queries the union of their
 * allowed keys is gathered and attended with the exact sub-mask, so the result equals
 * scaledDotProductAttention with the full mask while computing only layout.computedScores
 * scores. Rows with no allowed key give zeros. Returns the output [..., nq, dv].
 */
export function sparseAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  options: { mask: tf.Tensor | AttentionPattern | SparseLayout; blockSize?: number; scale?: number },
): tf.Tensor {
  const { nq, nk, dk, dv } = checkQKV(q, k, v);
  const given = options.mask;
  const layout = 'blocks' in given ? given : sparseLayout(given, nq, nk, options.blockSize ?? 64);
  if (layout.nq !== nq || layout.nk !== nk) throw new Error(`sparseAttention: layout is for nq=${layout.nq}, nk=${layout.nk}, got queries ${formatShape(q.shape)} and keys ${formatShape(k.shape)}`);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const axis = q.rank - 2;
  const lead = q.shape.slice(0, -2);
  return tf.tidy(() => {
    const outputs = layout.blocks.map((block) =>
      tf.tidy(() => {
        if (block.keys.length === 0) return tf.zeros([...lead, block.rows, dv]);
        const qBlock = tf.slice(q, q.shape.map((_, i) => (i === axis ? block.start : 0)), q.shape.map((s, i) => (i === axis ? block.rows : s)));
        const index = tf.tensor1d(block.keys, 'int32');
        const mask = tf.tensor2d(block.mask, [block.rows, block.keys.length], 'bool');
        return attentionOutput(qBlock, tf.gather(k, index, axis), tf.gather(v, index, axis), { mask, scale });
      }),
    );
    return outputs.length === 1 ? outputs[0]! : tf.concat(outputs, axis);
  });
}

/** The dense 0/1 mask of a pattern, for pictures and for checking sparseAttention. */
export function patternMask(pattern: AttentionPattern, nq: number, nk = nq): tf.Tensor2D {
  return maskFromPattern(pattern, nq, nk);
}

/** Parameters of Luong's predictive alignment: wp [dq, da], vp [da]. */
export interface LocalPParams {
  wp: tf.Tensor;
  vp: tf.Tensor;
}

/**
 * Luong et al. 2015 local-p attention: each query predicts where to look,
 *
 *   p_i = nk · sigmoid(v_pᵀ tanh(W_p q_i)),
 *   w_ij = softmax_{|j − p_i| ≤ D}(q_i · k_j) · exp(−(j − p_i)² / (2σ²)),   σ = D / 2,
 *
 * a softmax over the window [p_i − D, p_i + D] reweighted by a Gaussian centred on p_i (not
 * renormalised, as in the paper). The Gaussian makes p_i, and so W_p and v_p, trainable; the
 * window edges themselves carry no gradient. q [..., nq, dq], k [..., nk, dq], v [..., nk, dv]
 * → { output [..., nq, dv], weights [..., nq, nk], centers [..., nq] }.
 */
export function localPAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  params: LocalPParams,
  options: { window: number },
): { output: tf.Tensor; weights: tf.Tensor; centers: tf.Tensor } {
  const { nk, dk } = checkQKV(q, k, v);
  checkShapes({ wp: [params.wp, ['dq', 'da']], vp: [params.vp, ['da']] }, { dq: dk });
  const D = options.window;
  if (!(D > 0)) throw new Error(`localPAttention: window must be > 0, got ${D}`);
  return tf.tidy(() => {
    const hidden = tf.tanh(batchedMatMul(q, params.wp)); // [..., nq, da]
    const centers = tf.mul(tf.sigmoid(tf.squeeze(batchedMatMul(hidden, tf.reshape(params.vp, [-1, 1])), [-1])), nk); // [..., nq]
    const distance = tf.sub(tf.range(0, nk, 1, 'float32'), tf.expandDims(centers, -1)); // j − p_i: [..., nq, nk]
    const inWindow = tf.lessEqual(tf.abs(distance), D);
    const sigma = D / 2;
    const gaussian = tf.exp(tf.div(tf.neg(tf.square(distance)), 2 * sigma * sigma));
    const weights = tf.mul(maskedSoftmax(batchedMatMul(q, k, false, true), inWindow), gaussian);
    return { output: batchedMatMul(weights, v), weights, centers };
  });
}
