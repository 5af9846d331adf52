/**
 * A 2-D matmul whose gradient is also fast on the wasm backend.
 *
 * TensorFlow.js 4.22's wasm backend runs a matmul on XNNPACK only when it is a plain 2-D product
 * without transpose flags (lib/attention/matmul.ts measured the rest ~15× slower), and the
 * gradient of tf.matMul uses exactly those flags: dA = dY·Bᵀ and dB = Aᵀ·dY. Training a model is
 * mostly backward passes, so here the gradient transposes explicitly and stays on the fast path.
 * The value is tf.matMul(a, b); only the speed of the gradient differs.
 */
import * as tf from '@tensorflow/tfjs';

const matMulWithFastGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor2D;
  const b = args[1] as tf.Tensor2D;
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
    },
  };
});

/** a [m, k] · b [k, n] → [m, n], with an explicitly transposed (fast on wasm) gradient. */
export function matMul2d(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`matMul2d: expected 2-D operands, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  if (tf.getBackend() !== 'wasm') return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  return matMulWithFastGrad(a, b) as tf.Tensor2D;
}
