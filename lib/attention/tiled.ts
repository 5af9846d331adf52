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
    // Rows whose max is still −∞ (nothing allowed yet) use 0 as the shift: p and c are 0 there.
    const shift = tf.where(tf.isFinite(mNew), mNew, tf.zerosLike(mNew));
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

/**
 * softmax(q kᵀ · scale) v computed block by block: for each block of queries, loop over blocks of
 * keys, keeping a running max, running sum and unnormalised output (onlineSoftmaxStep). Live
 * memory is O(bq·bk) per head for the scores instead of O(nq·nk); the [nq, nk] matrix is never
 * built. With `causal`, key blocks entirely in the future of a query block are skipped (about
 * half the work). q [..., nq, dk], k [..., nk, dk], v [..., nk, dv] → [..., nq, dv].
 * Fully masked rows (none unless nq > nk with causal) give zeros.
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
      let state: OnlineState = {
        m: tf.fill([...lead, bq, 1], -Infinity),
        l: tf.zeros([...lead, bq, 1]),
        acc: tf.zeros([...lead, bq, dv]),
      };
      const lastVisibleKey = q0 + bq - 1 + shift; // the last query of the block sees keys ≤ this
      for (let k0 = 0; k0 < nk; k0 += blockSize) {
        if (causal && k0 > lastVisibleKey) break;
        const bk = Math.min(blockSize, nk - k0);
        const next: OnlineState = tf.tidy(() => {
          let s = batchedMatMul(qBlock, sliceRows(k, k0, bk), false, true);
          let allowed: tf.Tensor | undefined;
          // Only blocks that straddle the diagonal need a mask.
          if (causal && k0 + bk - 1 > q0 + shift) {
            const rows = tf.reshape(tf.range(q0 + shift, q0 + shift + bq, 1, 'int32'), [bq, 1]);
            const cols = tf.reshape(tf.range(k0, k0 + bk, 1, 'int32'), [1, bk]);
            allowed = tf.broadcastTo(tf.lessEqual(cols, rows), s.shape);
            s = tf.where(allowed, s, tf.fill(s.shape, -Infinity));
          }
          return onlineSoftmaxStep(state, s, sliceRows(v, k0, bk), allowed);
        });
        tf.dispose([state.m, state.l, state.acc]);
        state = next;
      }
      outputs.push(
        tf.tidy(() => {
          const safeL = tf.maximum(state.l, 1e-30);
          return tf.div(state.acc, safeL);
        }),
      );
      tf.dispose([qBlock, state.m, state.l, state.acc]);
    }
    return outputs.length === 1 ? outputs[0]! : tf.concat(outputs, rank - 2);
  } finally {
    if (outputs.length > 1) tf.dispose(outputs);
  }
}
