/**
 * One optimisation step with gradient clipping by global norm (梯度裁剪; Pascanu et al. 2013,
 * "On the difficulty of training recurrent neural networks"):
 *
 *   g ← g · min(1, maxNorm / ‖g‖),  ‖g‖ = sqrt(Σ_i ‖g_i‖²) over all parameters.
 *
 * Adam (Kingma & Ba 2015) is TensorFlow.js's tf.train.adam; `adam()` only fixes our defaults.
 */
import * as tf from '@tensorflow/tfjs';

export function adam(learningRate = 1e-3): tf.AdamOptimizer {
  return tf.train.adam(learningRate, 0.9, 0.999, 1e-8) as tf.AdamOptimizer;
}

/** Global L2 norm of a set of tensors. */
export function globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(tensors.map((t) => tf.sum(tf.square(t))))) as tf.Scalar);
}

/** Scale all gradients by min(1, maxNorm / globalNorm); returns new tensors and the norm before clipping. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const norm = globalNorm(names.map((n) => grads[n]!));
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)));
    const clipped: tf.NamedTensorMap = {};
    for (const n of names) clipped[n] = tf.mul(grads[n]!, scale);
    return { grads: clipped, norm };
  }) as { grads: tf.NamedTensorMap; norm: tf.Scalar };
}

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/**
 * Compute the loss and gradients of `lossFn` with respect to `vars` (default: all trainable
 * variables it touches), clip them to `clipNorm` (if given), and apply them with `optimizer`.
 * Leaves no tensors behind.
 */
export function trainStep(
  optimizer: tf.Optimizer,
  lossFn: () => tf.Scalar,
  options: { clipNorm?: number; vars?: tf.Variable[] } = {},
): StepResult {
  const { value, grads } = tf.variableGrads(lossFn, options.vars);
  let applied = grads;
  let normT: tf.Scalar;
  if (options.clipNorm !== undefined) {
    const c = clipByGlobalNorm(grads, options.clipNorm);
    applied = c.grads;
    normT = c.norm;
  } else {
    normT = globalNorm(Object.values(grads));
  }
  optimizer.applyGradients(applied);
  const loss = value.dataSync()[0]!;
  const gradNorm = normT.dataSync()[0]!;
  tf.dispose([value, normT, Object.values(grads)]);
  if (applied !== grads) tf.dispose(Object.values(applied));
  return { loss, gradNorm };
}
