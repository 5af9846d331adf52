/**
 * Attention masks (注意力掩码) as 0/1 float32 tensors [nq, nk] (1 = may attend). They broadcast
 * against scores [..., nq, nk]; combine them with `combineMasks` (logical and).
 *
 * Each pattern is also available as a predicate `(i, j) => boolean` (an `AttentionPattern`), so
 * that `sparseAttention` can compute only the allowed entries without ever building the n×n mask.
 */
import * as tf from '@tensorflow/tfjs';
import { checkPositiveInt } from '../shapes.js';
import { Rng } from '../random.js';

/** A mask pattern as a predicate over (query position i, key position j). */
export interface AttentionPattern {
  /** A short description, e.g. 'sliding window 4'. */
  name: string;
  allows(i: number, j: number): boolean;
  /** The allowed keys of query i among 0 … nk−1, ascending (faster than testing every j). */
  keys?(i: number, nk: number): number[];
}

/** Allowed keys of query i, ascending: the pattern's own `keys` or a scan of `allows`. */
export function patternKeys(pattern: AttentionPattern, i: number, nk: number): number[] {
  if (pattern.keys) return pattern.keys(i, nk);
  const out: number[] = [];
  for (let j = 0; j < nk; j++) if (pattern.allows(i, j)) out.push(j);
  return out;
}

const range = (from: number, to: number): number[] => {
  const out: number[] = [];
  for (let j = Math.max(0, from); j < to; j++) out.push(j);
  return out;
};

/** Build a [nq, nk] 0/1 float32 mask from a predicate. */
export function maskFromPattern(pattern: AttentionPattern | ((i: number, j: number) => boolean), nq: number, nk = nq): tf.Tensor2D {
  checkPositiveInt('nq', nq);
  checkPositiveInt('nk', nk);
  const data = new Float32Array(nq * nk);
  if (typeof pattern === 'function') {
    for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) data[i * nk + j] = pattern(i, j) ? 1 : 0;
  } else {
    for (let i = 0; i < nq; i++) for (const j of patternKeys(pattern, i, nk)) data[i * nk + j] = 1;
  }
  return tf.tensor2d(data, [nq, nk]);
}

/**
 * Causal (look-ahead) mask (因果掩码), lower triangular: query i sees keys j ≤ i.
 * With nk > nq (decoding against a cache) the queries are the *last* nq positions, so query i
 * sits at absolute position i + (nk − nq) and sees keys j ≤ i + (nk − nq). (Vaswani et al. 2017)
 */
export function causalPattern(nq: number, nk = nq): AttentionPattern {
  const shift = nk - nq;
  return { name: 'causal', allows: (i, j) => j <= i + shift, keys: (i, n) => range(0, Math.min(n, i + shift + 1)) };
}
export function causalMask(nq: number, nk = nq): tf.Tensor2D {
  return maskFromPattern(causalPattern(nq, nk), nq, nk);
}

/**
 * Padding mask (填充掩码) from sequence lengths: [b, 1, 1, n] with 1 for the first lengths[b]
 * key positions. The two unit axes let it broadcast over heads and queries of scores
 * [b, heads, nq, n]; for scores [b, nq, n] use `tf.squeeze(mask, [1])`.
 */
export function paddingMask(lengths: readonly number[], n: number): tf.Tensor4D {
  checkPositiveInt('n', n);
  const data = new Float32Array(lengths.length * n);
  lengths.forEach((len, b) => {
    if (!Number.isInteger(len) || len < 0 || len > n) throw new Error(`paddingMask: length ${len} of sequence ${b} is not in [0, ${n}]`);
    data.fill(1, b * n, b * n + len);
  });
  return tf.tensor4d(data, [lengths.length, 1, 1, n]);
}

/**
 * Sliding-window (local) pattern: |i − j| ≤ window; with `causal`, i − window ≤ j ≤ i.
 * (Luong et al. 2015 local attention; Beltagy et al. 2020, Longformer)
 */
export function slidingWindowPattern(window: number, options: { causal?: boolean } = {}): AttentionPattern {
  if (!Number.isInteger(window) || window < 0) throw new Error(`window must be a non-negative integer, got ${window}`);
  return options.causal
    ? { name: `causal sliding window ${window}`, allows: (i, j) => j <= i && i - j <= window, keys: (i, n) => range(i - window, Math.min(n, i + 1)) }
    : { name: `sliding window ${window}`, allows: (i, j) => Math.abs(i - j) <= window, keys: (i, n) => range(i - window, Math.min(n, i + window + 1)) };
}
export function slidingWindowMask(n: number, window: number, options: { causal?: boolean } = {}): tf.Tensor2D {
  return maskFromPattern(slidingWindowPattern(window, options), n);
}

/**
 * Strided pattern of the Sparse Transformer (Child et al. 2019), causal: position i attends to
 * the previous `stride` positions (i − j < stride) and to every position j with (i − j) mod
 * stride = 0. The two "heads" of the paper are merged here into one mask.
 */
export function stridedPattern(stride: number): AttentionPattern {
  checkPositiveInt('stride', stride);
  return {
    name: `strided ${stride}`,
    allows: (i, j) => j <= i && (i - j < stride || (i - j) % stride === 0),
    keys: (i, n) => {
      const far: number[] = [];
      for (let j = i - stride; j >= 0; j -= stride) if (j < n) far.push(j);
      return [...far.reverse(), ...range(i - stride + 1, Math.min(n, i + 1))];
    },
  };
}
export function stridedMask(n: number, stride: number): tf.Tensor2D {
  return maskFromPattern(stridedPattern(stride), n);
}

/**
 * Fixed pattern of the Sparse Transformer (Child et al. 2019), causal: position i attends to its
 * own block of length `stride` (⌊j/stride⌋ = ⌊i/stride⌋) and to the last `summary` positions of
 * every block (j mod stride ≥ stride − summary), which act as summary cells.
 */
export function fixedPattern(stride: number, summary = 1): AttentionPattern {
  checkPositiveInt('stride', stride);
  checkPositiveInt('summary', summary);
  if (summary > stride) throw new Error(`fixedPattern: summary ${summary} exceeds stride ${stride}`);
  return {
    name: `fixed ${stride}/${summary}`,
    allows: (i, j) => j <= i && (Math.floor(j / stride) === Math.floor(i / stride) || j % stride >= stride - summary),
    keys: (i, n) => {
      const blockStart = Math.floor(i / stride) * stride;
      const out: number[] = [];
      for (let j = 0; j < Math.min(blockStart, n); j++) if (j % stride >= stride - summary) out.push(j);
      return [...out, ...range(blockStart, Math.min(n, i + 1))];
    },
  };
}
export function fixedMask(n: number, stride: number, summary = 1): tf.Tensor2D {
  return maskFromPattern(fixedPattern(stride, summary), n);
}

export interface BigBirdOptions {
  /** Global tokens (blocks): they attend everywhere and every query attends to them. */
  numGlobal?: number;
  /** Sliding-window radius, in tokens (blocks). */
  window?: number;
  /** Random keys (key blocks) per query (query block). */
  numRandom?: number;
  /** Seed for the random links. */
  seed?: number;
  /**
   * Tokens per block (default 1). With blockSize > 1 the pattern is the paper's block-sparse
   * form: numGlobal, window and numRandom count blocks, and all queries of a block share their
   * random key blocks, so a block of queries needs only (2·window + 1 + numRandom + numGlobal)
   * key blocks, which is what makes it fast.
   */
  blockSize?: number;
}

/**
 * BigBird-style pattern (Zaheer et al. 2020): global + sliding window + random links,
 * bidirectional, at the level of tokens (blockSize 1, the picture) or of blocks of tokens (the
 * paper's block-sparse form). The random links are drawn with a seeded Rng, so the same seed
 * gives the same pattern everywhere.
 */
export function bigBirdPattern(n: number, options: BigBirdOptions = {}): AttentionPattern {
  checkPositiveInt('n', n);
  const { numGlobal = 1, window = 1, numRandom = 2, seed = 0, blockSize = 1 } = options;
  checkPositiveInt('blockSize', blockSize);
  const blocks = Math.ceil(n / blockSize);
  const block = (i: number) => Math.floor(i / blockSize);
  const rng = new Rng(seed);
  const random: Set<number>[] = [];
  for (let b = 0; b < blocks; b++) {
    const picks = new Set<number>();
    const want = Math.min(numRandom, blocks);
    while (picks.size < want) picks.add(rng.int(0, blocks));
    random.push(picks);
  }
  const allows = (i: number, j: number) => {
    const bi = block(i);
    const bj = block(j);
    return bi < numGlobal || bj < numGlobal || Math.abs(bi - bj) <= window || (bi < blocks && random[bi]!.has(bj));
  };
  return {
    name: `BigBird g=${numGlobal} w=${window} r=${numRandom}${blockSize > 1 ? ` (blocks of ${blockSize})` : ''} seed=${seed}`,
    allows,
    keys: (i, nk) => {
      const bi = block(i);
      if (bi < numGlobal) return range(0, nk);
      const blockRange = (b: number) => range(b * blockSize, Math.min(nk, (b + 1) * blockSize));
      const chosen = new Set<number>();
      for (let b = 0; b < numGlobal; b++) chosen.add(b);
      for (let b = bi - window; b <= bi + window; b++) if (b >= 0) chosen.add(b);
      if (bi < blocks) for (const b of random[bi]!) chosen.add(b);
      return [...chosen].sort((a, b) => a - b).flatMap(blockRange);
    },
  };
}
export function bigBirdMask(n: number, options: BigBirdOptions = {}): tf.Tensor2D {
  return maskFromPattern(bigBirdPattern(n, options), n);
}

/** Logical and of masks (0/1 or bool), broadcast together; returns 0/1 float32. */
export function combineMasks(...masks: (tf.Tensor | null | undefined)[]): tf.Tensor | null {
  const present = masks.filter((m): m is tf.Tensor => m !== null && m !== undefined);
  if (present.length === 0) return null;
  return tf.tidy(() => present.map((m) => tf.cast(tf.notEqual(m, 0), 'float32')).reduce((a, b) => tf.mul(a, b)));
}
