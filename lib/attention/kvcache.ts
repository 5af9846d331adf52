/**
 * A KV cache (键值缓存) for incremental decoding: keep the keys and values of the tokens seen so
 * far so that each new token costs one projection and one row of attention instead of
 * recomputing the whole prefix.
 *
 *   let cache = createKVCache({ batch: 1, numKvHeads, dHead });
 *   for each step:
 *     const { output, cache: next } = multiHeadAttentionCached(params, xNew, cache, { numHeads, position: 'rope' });
 *     disposeKVCache(cache); cache = next;
 *
 * The cache is an immutable value: appending returns a new cache and leaves the old one intact
 * (the caller disposes it, as above). It stores only the numKvHeads K/V heads, which is why
 * multi-query and grouped-query attention shrink it (kvCacheBytes).
 */
import * as tf from '@tensorflow/tfjs';
import { checkPositiveInt, checkShapes } from '../shapes.js';
import { scaledDotProductAttention, type AttentionResult } from './core.js';
import { applyRope } from './rope.js';
import { alibiBias } from './positions.js';
import { multiHeadSizes, outputProjection, projectQKV, repeatKvHeads, type MultiHeadParams } from './multihead.js';

export interface KVCache {
  /** Keys [b, numKvHeads, length, dHead] (RoPE, if used, already applied). */
  readonly k: tf.Tensor4D;
  /** Values [b, numKvHeads, length, dHead]. */
  readonly v: tf.Tensor4D;
  /** Number of cached positions (= k.shape[2]). */
  readonly length: number;
}

/** An empty cache: k and v of shape [batch, numKvHeads, 0, dHead]. */
export function createKVCache(options: { batch: number; numKvHeads: number; dHead: number }): KVCache {
  checkPositiveInt('batch', options.batch);
  checkPositiveInt('numKvHeads', options.numKvHeads);
  checkPositiveInt('dHead', options.dHead);
  const shape: [number, number, number, number] = [options.batch, options.numKvHeads, 0, options.dHead];
  return { k: tf.zeros(shape) as tf.Tensor4D, v: tf.zeros(shape) as tf.Tensor4D, length: 0 };
}

/** A new cache with k, v [b, numKvHeads, nNew, dHead] appended along the position axis. */
export function appendToKVCache(cache: KVCache, k: tf.Tensor, v: tf.Tensor): KVCache {
  const [b, h, , d] = cache.k.shape;
  checkShapes({ 'new keys': [k, [b, h, 'n', d]], 'new values': [v, [b, h, 'n', d]] });
  const grow = (old: tf.Tensor4D, add: tf.Tensor) => (old.shape[2] === 0 ? (add.clone() as tf.Tensor4D) : (tf.concat([old, add], 2) as tf.Tensor4D));
  return { k: grow(cache.k, k), v: grow(cache.v, v), length: cache.length + k.shape[2]! };
}

/** Dispose a cache's tensors. */
export function disposeKVCache(cache: KVCache): void {
  tf.dispose([cache.k, cache.v]);
}

/**
 * Attention of new queries q [b, numHeads, nNew, dHead] against a cache that already holds
 * their own keys (append first): query t sits at position cache.length − nNew + t and sees keys
 * ≤ that position (causal, end-aligned). K/V heads are shared by numHeads / numKvHeads query
 * heads. `bias` is added to the scores (e.g. ALiBi [heads, nNew, length]).
 */
export function attendWithCache(q: tf.Tensor, cache: KVCache, options: { bias?: tf.Tensor | null; scale?: number } = {}): AttentionResult {
  const [b, hKv, , d] = cache.k.shape;
  const { h } = checkShapes({ queries: [q, [b, 'h', 'n', d]] });
  if (h! % hKv !== 0) throw new Error(`attendWithCache: ${h} query heads are not a multiple of the cache's ${hKv} K/V heads`);
  if (q.shape[2]! > cache.length) throw new Error(`attendWithCache: ${q.shape[2]} queries but only ${cache.length} cached positions; append the new keys first`);
  return tf.tidy(() => {
    const groups = h! / hKv;
    const k = groups === 1 ? cache.k : repeatKvHeads(cache.k, groups);
    const v = groups === 1 ? cache.v : repeatKvHeads(cache.v, groups);
    return scaledDotProductAttention(q, k, v, { causal: true, bias: options.bias ?? null, scale: options.scale });
  });
}

/**
 * One decoding step of causal self-attention with a cache: project x [b, nNew, dModel] (the new
 * tokens), apply RoPE at positions cache.length … (if position is 'rope'), append the new keys
 * and values, attend. Returns output [b, nNew, dModel], weights [b, numHeads, nNew, length] and
 * the new cache (the old one is left for the caller to dispose). Feeding a whole prompt at once
 * and then one token at a time gives the same outputs as multiHeadAttention with causal: true.
 */
export function multiHeadAttentionCached(
  params: MultiHeadParams,
  x: tf.Tensor,
  cache: KVCache,
  options: { numHeads: number; numKvHeads?: number; position?: 'rope' | 'alibi' | null; ropeBase?: number },
): AttentionResult & { cache: KVCache } {
  const { numHeads, numKvHeads = numHeads } = options;
  const { dHead } = multiHeadSizes(params, numHeads, numKvHeads);
  checkShapes({ cache: [cache.k, ['*', numKvHeads, '*', dHead]] });
  const nNew = x.shape[1]!;
  let next: KVCache | null = null;
  const result = tf.tidy(() => {
    const p = projectQKV(params, x, x, numHeads, numKvHeads);
    const rope = options.position === 'rope';
    const q = rope ? applyRope(p.q, { offset: cache.length, base: options.ropeBase }) : p.q;
    const k = rope ? applyRope(p.k, { offset: cache.length, base: options.ropeBase }) : p.k;
    next = appendToKVCache(cache, k, p.v);
    tf.keep(next.k);
    tf.keep(next.v);
    const bias = options.position === 'alibi' ? alibiBias(numHeads, nNew, next.length) : null;
    const { output, weights } = attendWithCache(q, next, { bias });
    return { output: outputProjection(params, output), weights };
  });
  return { ...result, cache: next! };
}

/**
 * Bytes a KV cache needs: 2 (K and V) × layers × batch × numKvHeads × length × dHead × bytes.
 * E.g. 32 layers, 32 heads of 128, 4096 tokens, float16: 2 GiB per sequence; with 8 K/V heads
 * (grouped-query) a quarter of that.
 */
export function kvCacheBytes(options: { layers: number; batch?: number; numKvHeads: number; dHead: number; length: number; bytesPerValue?: number }): number {
  const { layers, batch = 1, numKvHeads, dHead, length, bytesPerValue = 4 } = options;
  return 2 * layers * batch * numKvHeads * length * dHead * bytesPerValue;
}
