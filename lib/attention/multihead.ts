/**
 * Multi-head attention (多头注意力) (Vaswani et al. 2017) with multi-query (Shazeer 2019) and
 * grouped-query (Ainslie et al. 2023) variants, self and cross attention.
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './matmul.js';
import { checkBroadcastable, checkPositiveInt, checkShapes } from '../shapes.js';
import { Rng } from '../random.js';
import { scaledDotProductAttention, type AttentionResult } from './core.js';
import type { Mask } from './softmax.js';
import { applyRope } from './rope.js';
import { alibiBias } from './positions.js';

/** Projection weights. dHead = wq.shape[1] / numHeads; numKvHeads = wk.shape[1] / dHead. */
export interface MultiHeadParams {
  wq: tf.Tensor; // [dModel, numHeads*dHead]
  wk: tf.Tensor; // [dModel, numKvHeads*dHead]
  wv: tf.Tensor; // [dModel, numKvHeads*dHead]
  wo: tf.Tensor; // [numHeads*dHead, dModel]
  bq?: tf.Tensor; // [numHeads*dHead]
  bk?: tf.Tensor; // [numKvHeads*dHead]
  bv?: tf.Tensor; // [numKvHeads*dHead]
  bo?: tf.Tensor; // [dModel]
}

/** MultiHeadParams held as trainable variables (what initMultiHeadParams returns). */
export type MultiHeadVariables = { [K in keyof MultiHeadParams]: tf.Variable };

/**
 * Trainable parameters for multiHeadAttention: Glorot-uniform weights (seeded), zero biases.
 * dHead defaults to dModel / numHeads.
 */
export function initMultiHeadParams(options: {
  dModel: number;
  numHeads: number;
  numKvHeads?: number;
  dHead?: number;
  seed: number;
  bias?: boolean;
  name?: string;
}): MultiHeadVariables {
  const { dModel, numHeads, numKvHeads = numHeads, bias = true } = options;
  checkPositiveInt('dModel', dModel);
  checkPositiveInt('numHeads', numHeads);
  checkPositiveInt('numKvHeads', numKvHeads);
  if (numHeads % numKvHeads !== 0) throw new Error(`numHeads=${numHeads} must be a multiple of numKvHeads=${numKvHeads}`);
  const dHead = options.dHead ?? dModel / numHeads;
  if (!Number.isInteger(dHead)) throw new Error(`dModel=${dModel} is not divisible by numHeads=${numHeads}; pass dHead`);
  const rng = new Rng(options.seed);
  const prefix = options.name ? `${options.name}/` : '';
  const glorot = (rows: number, cols: number, name: string) => {
    const limit = Math.sqrt(6 / (rows + cols));
    return tf.variable(tf.tidy(() => tf.randomUniform([rows, cols], -limit, limit, 'float32', rng.childSeed())), true, options.name ? prefix + name : undefined);
  };
  const zeros = (n: number, name: string) => tf.variable(tf.zeros([n]), true, options.name ? prefix + name : undefined);
  const params: MultiHeadVariables = {
    wq: glorot(dModel, numHeads * dHead, 'wq'),
    wk: glorot(dModel, numKvHeads * dHead, 'wk'),
    wv: glorot(dModel, numKvHeads * dHead, 'wv'),
    wo: glorot(numHeads * dHead, dModel, 'wo'),
  };
  if (bias) {
    params.bq = zeros(numHeads * dHead, 'bq');
    params.bk = zeros(numKvHeads * dHead, 'bk');
    params.bv = zeros(numKvHeads * dHead, 'bv');
    params.bo = zeros(dModel, 'bo');
  }
  return params;
}

/** [b, n, h·d] → [b, h, n, d]: head h owns features h·d … h·d + d − 1. */
export function splitHeads(x: tf.Tensor, numHeads: number): tf.Tensor4D {
  const { b, n, hd } = checkShapes({ x: [x, ['b', 'n', 'hd']] });
  if (hd! % numHeads !== 0) throw new Error(`splitHeads: expected x [b, n, h*d] with h=${numHeads}, got [${x.shape.join(', ')}] (${hd} is not divisible by ${numHeads})`);
  return tf.tidy(() => tf.transpose(tf.reshape(x, [b!, n!, numHeads, hd! / numHeads]), [0, 2, 1, 3])) as tf.Tensor4D;
}

/** [b, h, n, d] → [b, n, h·d] (the inverse of splitHeads). */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  const { b, h, n, d } = checkShapes({ x: [x, ['b', 'h', 'n', 'd']] });
  return tf.tidy(() => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b!, n!, h! * d!])) as tf.Tensor3D;
}

/**
 * [b, hKv, n, d] → [b, hKv·groups, n, d]: each K/V head is shared by `groups` consecutive query
 * heads (query head i uses K/V head ⌊i / groups⌋), as in grouped-query attention.
 */
export function repeatKvHeads(x: tf.Tensor, groups: number): tf.Tensor4D {
  const { b, h, n, d } = checkShapes({ x: [x, ['b', 'h', 'n', 'd']] });
  if (groups === 1) return x.clone() as tf.Tensor4D;
  // A gather along the head axis (rather than tile on a rank-5 view, which has no gradient in
  // TensorFlow.js): index i·groups + r → head i.
  const index = Array.from({ length: h! * groups }, (_, i) => Math.floor(i / groups));
  return tf.tidy(() => tf.gather(x, tf.tensor1d(index, 'int32'), 1)) as tf.Tensor4D;
}

/**
 * How multiHeadAttention injects positions (all optional):
 * - 'rope' or { type: 'rope', base?, offsetQ?, offsetK? }: rotate q and k per head (applyRope).
 *   By default queries sit at positions nk − nq … nk − 1 and keys at 0 … nk − 1.
 * - 'alibi' or { type: 'alibi', slopes? }: add alibiBias(numHeads, nq, nk) to the scores.
 * - a tensor, or { type: 'bias', bias }: an additive score bias broadcastable to [b, heads, nq, nk]
 *   (e.g. t5RelativeBias(table, nq, nk) of shape [heads, nq, nk]).
 */
export type PositionOption =
  | 'rope'
  | 'alibi'
  | tf.Tensor
  | { type: 'rope'; base?: number; offsetQ?: number; offsetK?: number }
  | { type: 'alibi'; slopes?: number[] }
  | { type: 'bias'; bias: tf.Tensor };

export interface MultiHeadOptions {
  numHeads: number;
  /** K/V heads: numHeads (default) = MHA, 1 = multi-query, in between = grouped-query. */
  numKvHeads?: number;
  /** 1 = may attend; broadcastable to [b, heads, nq, nk] (e.g. paddingMask [b, 1, 1, nk]). */
  mask?: Mask | null;
  causal?: boolean;
  position?: PositionOption | null;
}

/** Sizes implied by the parameters, checked against the inputs. */
export function multiHeadSizes(params: MultiHeadParams, numHeads: number, numKvHeads = numHeads) {
  const { dModel, hd } = checkShapes({ wq: [params.wq, ['dModel', 'hd']], wo: [params.wo, ['hd', 'dModel']] });
  if (hd! % numHeads !== 0) throw new Error(`wq [${params.wq.shape.join(', ')}] has ${hd} columns, not divisible by numHeads=${numHeads}`);
  if (numHeads % numKvHeads !== 0) throw new Error(`numHeads=${numHeads} must be a multiple of numKvHeads=${numKvHeads}`);
  const dHead = hd! / numHeads;
  const kv = numKvHeads * dHead;
  checkShapes({ wk: [params.wk, ['dModel', kv]], wv: [params.wv, ['dModel', kv]] }, { dModel: dModel! });
  if (params.bq) checkShapes({ bq: [params.bq, [hd!]] });
  if (params.bk) checkShapes({ bk: [params.bk, [kv]] });
  if (params.bv) checkShapes({ bv: [params.bv, [kv]] });
  if (params.bo) checkShapes({ bo: [params.bo, [dModel!]] });
  return { dModel: dModel!, dHead, numHeads, numKvHeads };
}

function project(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const y = batchedMatMul(tf.reshape(x, [-1, x.shape[x.rank - 1]!]), w);
  const yb = b ? tf.add(y, b) : y;
  return tf.reshape(yb, [...x.shape.slice(0, -1), w.shape[1]!]);
}

/** Project queries and keys/values and split heads: q [b, h, nq, d], k/v [b, hKv, nk, d]. */
export function projectQKV(params: MultiHeadParams, xq: tf.Tensor, xkv: tf.Tensor, numHeads: number, numKvHeads = numHeads) {
  const { dModel } = multiHeadSizes(params, numHeads, numKvHeads);
  checkShapes({ xq: [xq, ['b', 'nq', 'dModel']], xkv: [xkv, ['b', 'nk', 'dModel']] }, { dModel });
  return tf.tidy(() => ({
    q: splitHeads(project(xq, params.wq, params.bq), numHeads),
    k: splitHeads(project(xkv, params.wk, params.bk), numKvHeads),
    v: splitHeads(project(xkv, params.wv, params.bv), numKvHeads),
  }));
}

/** Merge heads and apply the output projection: [b, h, n, d] → [b, n, dModel]. */
export function outputProjection(params: MultiHeadParams, heads: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => project(mergeHeads(heads), params.wo, params.bo)) as tf.Tensor3D;
}

/** Resolve a PositionOption into rotated q/k and/or a score bias. */
export function applyPositionOption(
  position: PositionOption | null | undefined,
  q: tf.Tensor,
  k: tf.Tensor,
  numHeads: number,
): { q: tf.Tensor; k: tf.Tensor; bias: tf.Tensor | null } {
  const nq = q.shape[q.rank - 2]!;
  const nk = k.shape[k.rank - 2]!;
  if (position === null || position === undefined) return { q, k, bias: null };
  if (position instanceof tf.Tensor) return { q, k, bias: position };
  const spec = typeof position === 'string' ? { type: position } : position;
  switch (spec.type) {
    case 'rope': {
      const r = spec as { base?: number; offsetQ?: number; offsetK?: number };
      const base = r.base ?? 10000;
      return {
        q: applyRope(q, { base, offset: r.offsetQ ?? nk - nq }),
        k: applyRope(k, { base, offset: r.offsetK ?? 0 }),
        bias: null,
      };
    }
    case 'alibi':
      return { q, k, bias: alibiBias(numHeads, nq, nk, { slopes: (spec as { slopes?: number[] }).slopes }) };
    case 'bias':
      return { q, k, bias: (spec as { bias: tf.Tensor }).bias };
    default:
      throw new Error(`unknown position option ${JSON.stringify(spec)}; expected 'rope', 'alibi', a tensor or { type: 'bias', bias }`);
  }
}

/**
 * MultiHead(xq, xkv) = Concat(head_1 … head_h) W_o,  head_i = Attention(xq W_q^i, xkv W_k^g(i), xkv W_v^g(i))
 *
 * xq [b, nq, dModel], xkv [b, nk, dModel] (pass the same tensor for self-attention (自注意力),
 * the encoder output for cross attention (交叉注意力)). With numKvHeads < numHeads, query head i
 * uses K/V head g(i) = ⌊i·numKvHeads/numHeads⌋ (grouped-query; 1 = multi-query). Returns
 * output [b, nq, dModel] and weights [b, numHeads, nq, nk].
 */
export function multiHeadAttention(params: MultiHeadParams, xq: tf.Tensor, xkv: tf.Tensor, options: MultiHeadOptions): AttentionResult {
  const { numHeads, numKvHeads = numHeads } = options;
  multiHeadSizes(params, numHeads, numKvHeads);
  const b = xq.shape[0]!;
  const nq = xq.shape[1]!;
  const nk = xkv.shape[1]!;
  if (options.mask) checkBroadcastable('mask', options.mask.shape, 'scores [b, heads, nq, nk]', [b, numHeads, nq, nk]);
  return tf.tidy(() => {
    const projected = projectQKV(params, xq, xkv, numHeads, numKvHeads);
    const groups = numHeads / numKvHeads;
    const positioned = applyPositionOption(options.position, projected.q, projected.k, numHeads);
    const k = groups === 1 ? positioned.k : repeatKvHeads(positioned.k, groups);
    const v = groups === 1 ? projected.v : repeatKvHeads(projected.v, groups);
    const { output, weights } = scaledDotProductAttention(positioned.q, k, v, {
      mask: options.mask ?? null,
      causal: options.causal ?? false,
      bias: positioned.bias,
    });
    return { output: outputProjection(params, output), weights };
  });
}

/** Self-attention: multiHeadAttention(params, x, x, options). */
export function selfAttention(params: MultiHeadParams, x: tf.Tensor, options: MultiHeadOptions): AttentionResult {
  return multiHeadAttention(params, x, x, options);
}

/**
 * Cross attention (交叉注意力): queries from the decoder states x [b, nq, dModel], keys and
 * values from the encoder output memory [b, nk, dModel] (never causal across the two).
 */
export function crossAttention(params: MultiHeadParams, x: tf.Tensor, memory: tf.Tensor, options: Omit<MultiHeadOptions, 'causal'>): AttentionResult {
  return multiHeadAttention(params, x, memory, { ...options, causal: false });
}
