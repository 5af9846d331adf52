/**
 * Hard attention (硬注意力) (Xu et al. 2015, "Show, Attend and Tell"): attend to exactly one
 * position instead of a weighted average.
 *
 * How gradients flow: argmax and sampling have zero gradient almost everywhere, so a hard choice
 * is trained in one of two ways, both provided here:
 * - REINFORCE (Williams 1992), as in Xu et al.: hardAttention returns `logProb`, the log
 *   probability of the chosen position under softmax(scores); minimise −(reward − baseline) ·
 *   logProb. The gradient reaches the scores only through logProb.
 * - Straight-through Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017): gumbelSoftmax with
 *   `hard: true` outputs a one-hot vector in the forward pass while the backward pass uses the
 *   gradient of the relaxed sample softmax((scores + g) / τ).
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './matmul.js';
import { checkBroadcastable, checkShapes } from '../shapes.js';
import { maskedSoftmax, maskToBool, type Mask } from './softmax.js';

/** Standard Gumbel noise −log(−log u), u ~ U(0, 1), seeded. */
export function gumbelNoise(shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.randomUniform(shape, 1e-10, 1 - 1e-7, 'float32', seed);
    return tf.neg(tf.log(tf.neg(tf.log(u))));
  });
}

/** Scores with masked entries set to −∞ (so that argmax never picks them). */
function maskScores(scores: tf.Tensor, mask?: Mask | null): tf.Tensor {
  if (!mask) return scores.clone();
  checkBroadcastable('mask', mask.shape, 'scores', scores.shape);
  return tf.tidy(() => tf.where(maskToBool(mask, scores.shape), scores, tf.fill(scores.shape, -Infinity)));
}

export interface HardAttentionResult {
  /** v at the chosen position: [..., nq, dv]. */
  output: tf.Tensor;
  /** One-hot weights [..., nq, nk]. */
  weights: tf.Tensor;
  /** Chosen key index per query [..., nq] (int32). */
  indices: tf.Tensor;
  /** log softmax(scores)[chosen] per query [..., nq]; differentiable in the scores (for REINFORCE). */
  logProb: tf.Tensor;
}

/**
 * Hard attention over scores [..., nq, nk] and values v [..., nk, dv]:
 * - mode 'argmax': pick argmax_j s_ij (deterministic);
 * - mode 'sample': draw j ~ softmax(s_i) by the Gumbel-max trick, argmax_j (s_ij + g_ij), seeded.
 * The output is v_j for the chosen j; see the file comment for how to train through it.
 */
export function hardAttention(scores: tf.Tensor, v: tf.Tensor, options: { mode?: 'argmax' | 'sample'; mask?: Mask | null; seed?: number } = {}): HardAttentionResult {
  const { nk } = checkShapes({ scores: [scores, ['...', 'nq', 'nk']], values: [v, ['...', 'nk', 'dv']] });
  const mode = options.mode ?? 'argmax';
  if (mode === 'sample' && options.seed === undefined) throw new Error("hardAttention: mode 'sample' needs a seed (for reproducible draws)");
  return tf.tidy(() => {
    const masked = maskScores(scores, options.mask);
    const perturbed = mode === 'sample' ? tf.add(masked, gumbelNoise(scores.shape, options.seed!)) : masked;
    const indices = tf.argMax(perturbed, -1);
    const weights = tf.oneHot(indices, nk!).toFloat();
    const probs = maskedSoftmax(scores, options.mask ?? null);
    const logProb = tf.sum(tf.mul(weights, tf.log(tf.maximum(probs, 1e-30))), -1);
    return { output: batchedMatMul(weights, v), weights, indices, logProb };
  });
}

/**
 * Gumbel-softmax sample (Jang et al. 2017): y = softmax((s + g) / τ) over the allowed keys,
 * g ~ Gumbel(0, 1) (seeded). As τ → 0 samples approach one-hot draws from softmax(s). With
 * `hard: true` the forward value is the one-hot argmax of y and the backward pass is y's
 * gradient (straight-through estimator).
 */
export function gumbelSoftmax(scores: tf.Tensor, options: { temperature?: number; hard?: boolean; seed: number; mask?: Mask | null }): tf.Tensor {
  const { temperature = 1, hard = false, seed } = options;
  if (!(temperature > 0)) throw new Error(`gumbelSoftmax: temperature must be > 0, got ${temperature}`);
  if (options.mask) checkBroadcastable('mask', options.mask.shape, 'scores', scores.shape);
  const nk = scores.shape[scores.rank - 1]!;
  return tf.tidy(() => {
    const soft = maskedSoftmax(tf.div(tf.add(scores, gumbelNoise(scores.shape, seed)), temperature), options.mask ?? null);
    return hard ? straightThrough(soft, (y) => tf.oneHot(tf.argMax(y, -1), nk).toFloat()) : soft;
  });
}

/** Forward: hardFn(x); backward: identity (the straight-through estimator, Bengio et al. 2013). */
export function straightThrough(x: tf.Tensor, hardFn: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    return { value: tf.tidy(() => hardFn(input)), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => (dy as tf.Tensor).clone() };
  });
  return op(x) as tf.Tensor;
}
