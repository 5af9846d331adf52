/**
 * Tiled attention with an online softmax (在线 softmax), the idea behind FlashAttention
 * (Milakov & Gimelshein 2018; Dao et al. 2022).
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './matmul.js';
import { checkPositiveInt } from '../shapes.js';
import { checkQKV } from './core.js';

export interface TiledOptions {
  /** Keys (and values) per block; default 256. */
  blockSize?: number;
  /** Queries per block; default blockSize. */
  queryBlockSize?: number;
  causal?: boolean;
  /** Default 1/√d_k. */
  scale?: number;
}

/** Running state of one query block: row max m, row sum l, unnormalised output acc. */
export type OnlineState = {
  m: tf.Tensor; // [..., bq, 1]
  l: tf.Tensor; // [..., bq, 1]
  acc: tf.Tensor; // [..., bq, dv]
};

/**
 * One step of the online softmax: fold a block of scores s [..., bq, bk] (−∞ where masked) and
 * its values vBlock [..., bk, dv] into the running state:
 *
 *   m' = max(m, rowmax(s)),  p = exp(s − m'),  c = exp(m − m'),
 *   l' = c·l + rowsum(p),    acc' = c·acc + p vBlock
 *
 * At the end output = acc / l equals softmax(all scores) V exactly (up to float rounding),
 * because every earlier term was rescaled by exp(m_old − m_new) when the maximum grew.
 * `allowed` (optional, bool) zeroes p where masked, so a row with no allowed key so far keeps
 * l = 0 instead of exp(−∞ − (−∞)) = NaN.
 */
export function onlineSoftmaxStep(state: OnlineState, s: tf.Tensor, vBlock: tf.Tensor, allowed?: tf.Tensor): OnlineState {
  return tf.tidy((): OnlineState => {
    const mNew = tf.maximum(state.m, tf.max(s, -1, true));
    // Rows whose max is still −∞ (nothing allowed yet) shift by −1e30 instead: p and c are then
    // exp(−∞) = 0 rather than exp(−∞ + ∞) = NaN. (maximum keeps this differentiable.)
    const shift = tf.maximum(mNew, -1e30);
    let p = tf.exp(tf.sub(s, shift));
    if (allowed) p = tf.where(allowed, p, tf.zerosLike(p));
    const c = tf.exp(tf.sub(state.m, shift));
    return {
      m: mNew,
      l: tf.add(tf.mul(c, state.l), tf.sum(p, -1, true)),
      acc: tf.add(tf.mul(c, state.acc), batchedMatMul(p, vBlock)),
    };
  });
}

/** Running state of the merged form: log-sum-exp of the scores so far and the normalised output. */
export type PartialAttention = {
  lse: tf.Tensor; // [..., bq, 1]  log Σ_j exp(s_ij) over the keys seen so far
  out: tf.Tensor; // [..., bq, dv] softmax-weighted average of their values
};

/**
 * The same recurrence with normalised partial results (as in FlashAttention-2's split-KV merge):
 * a block gives its own softmax output o_b = softmax(s) vBlock and log-sum-exp
 * lse_b = max(s) − log max(softmax(s)); two partials merge as
 *
 *   lse' = log(e^lse + e^lse_b),   out' = e^(lse − lse') out + e^(lse_b − lse') o_b.
 *
 * Equal to onlineSoftmaxStep up to rounding, but the heavy per-score work is one native softmax
 * kernel instead of separate max/sub/exp/sum passes, which is about twice as fast on wasm.
 * Masked scores must be −1e30 (finite), not −∞.
 */
export function mergeAttentionBlock(state: PartialAttention, s: tf.Tensor, vBlock: tf.Tensor): PartialAttention {
  return tf.tidy((): PartialAttention => {
    const p = tf.softmax(s);
    const blockOut = batchedMatMul(p, vBlock);
    const blockLse = tf.sub(tf.max(s, -1, true), tf.log(tf.max(p, -1, true)));
    const m = tf.maximum(state.lse, blockLse);
    const a = tf.exp(tf.sub(state.lse, m)); // 0 on the first block (lse = −∞)
    const b = tf.exp(tf.sub(blockLse, m));
    const total = tf.add(a, b);
    return {
      lse: tf.add(m, tf.log(total)),
      out: tf.add(tf.mul(state.out, tf.div(a, total)), tf.mul(blockOut, tf.div(b, total))),
    };
  });
}

/**
 * softmax(q kᵀ · scale) v computed block by block: for each block of queries, loop over blocks of
 * keys, folding each block's scores into a running state (the online softmax; the merged form
 * mergeAttentionBlock, equivalent to onlineSoftmaxStep). Live memory is O(bq·bk) per head for the
 * scores instead of O(nq·nk); the [nq, nk] matrix is never built. With `causal`, key blocks
 * entirely in the future of a query block are skipped (about half the work).
 * q [..., nq, dk], k [..., nk, dk], v [..., nk, dv] → [..., nq, dv]. Rows with no visible key
 * (only when causal and nq > nk) give zeros.
 */
export function tiledAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: TiledOptions = {}): tf.Tensor {
  const { nq, nk, dk, dv } = checkQKV(q, k, v);
  const blockSize = options.blockSize ?? 256;
  const queryBlockSize = options.queryBlockSize ?? blockSize;
  checkPositiveInt('blockSize', blockSize);
  checkPositiveInt('queryBlockSize', queryBlockSize);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const causal = options.causal ?? false;
  const shift = nk - nq; // query i sits at absolute position i + shift
  const lead = q.shape.slice(0, -2);
  const rank = q.rank;
  const sliceRows = (x: tf.Tensor, start: number, size: number) => {
    const begin = x.shape.map((_, i) => (i === rank - 2 ? start : 0));
    const sizes = x.shape.map((s, i) => (i === rank - 2 ? size : s));
    return tf.slice(x, begin, sizes);
  };

  const outputs: tf.Tensor[] = [];
  try {
    for (let q0 = 0; q0 < nq; q0 += queryBlockSize) {
      const bq = Math.min(queryBlockSize, nq - q0);
      const qBlock = tf.tidy(() => tf.mul(sliceRows(q, q0, bq), scale));
      let state: PartialAttention = { lse: tf.fill([...lead, bq, 1], -Infinity), out: tf.zeros([...lead, bq, dv]) };
      const lastVisibleKey = q0 + bq - 1 + shift; // the last query of the block sees keys ≤ this
      for (let k0 = 0; k0 < nk; k0 += blockSize) {
        if (causal && k0 > lastVisibleKey) break;
        const bk = Math.min(blockSize, nk - k0);
        const next: PartialAttention = tf.tidy(() => {
          let s = batchedMatMul(qBlock, sliceRows(k, k0, bk), false, true);
          // Only blocks that straddle the diagonal need a mask: −1e30 on keys after the query.
          if (causal && k0 + bk - 1 > q0 + shift) {
            const rows = tf.reshape(tf.range(q0 + shift, q0 + shift + bq, 1, 'int32'), [bq, 1]);
            const cols = tf.reshape(tf.range(k0, k0 + bk, 1, 'int32'), [1, bk]);
            s = tf.add(s, tf.mul(tf.cast(tf.greater(cols, rows), 'float32'), -1e30));
          }
          return mergeAttentionBlock(state, s, sliceRows(v, k0, bk));
        });
        tf.dispose([state.lse, state.out]);
        state = next;
      }
      // A row that saw only masked keys has lse ≈ −1e30: give it zeros, like maskedSoftmax.
      // (tf.step rather than a comparison: it has a (zero) gradient, so tiledAttention stays differentiable.)
      outputs.push(tf.tidy(() => tf.mul(state.out, tf.step(tf.add(state.lse, 1e29)))));
      tf.dispose([qBlock, state.lse, state.out]);
    }
    return outputs.length === 1 ? outputs[0]! : tf.concat(outputs, rank - 2);
  } finally {
    if (outputs.length > 1) tf.dispose(outputs);
  }
}
