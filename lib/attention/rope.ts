/**
 * Rotary position embedding, RoPE (旋转位置编码) (Su et al. 2021, RoFormer).
 */
import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes.js';

/** Angles m·θ_i for positions m = offset … offset+n−1 and θ_i = base^(−2i/d): [n, d/2]. */
export function ropeAngles(n: number, d: number, options: { offset?: number; base?: number } = {}): tf.Tensor2D {
  const { offset = 0, base = 10000 } = options;
  const half = d / 2;
  const data = new Float32Array(n * half);
  for (let m = 0; m < n; m++) {
    for (let i = 0; i < half; i++) data[m * half + i] = (m + offset) * Math.pow(base, (-2 * i) / d);
  }
  return tf.tensor2d(data, [n, half]);
}

/**
 * Rotate each consecutive pair (x_{2i}, x_{2i+1}) of the vector at position m by the angle m·θ_i:
 *
 *   x'_{2i}   = x_{2i} cos mθ_i − x_{2i+1} sin mθ_i
 *   x'_{2i+1} = x_{2i} sin mθ_i + x_{2i+1} cos mθ_i,      θ_i = base^(−2i/d)
 *
 * for x [..., n, d] with d even. Rotations compose, so (R_m q)·(R_n k) = q·R_{n−m} k: the score
 * depends on the positions only through m − n. `offset` is the position of the first row (use
 * the cache length when decoding). The interleaved pairing is the paper's; GPT-NeoX/LLaMA code
 * pairs x_i with x_{i+d/2} instead, an equivalent permutation.
 */
export function applyRope(x: tf.Tensor, options: { offset?: number; base?: number } = {}): tf.Tensor {
  const { n, d } = checkShapes({ x: [x, ['...', 'n', 'd']] });
  if (d! % 2 !== 0) throw new Error(`applyRope: expected x [..., n, d] with d even, got [${x.shape.join(', ')}]`);
  return tf.tidy(() => {
    const angles = ropeAngles(n!, d!, options);
    const cos = tf.expandDims(tf.cos(angles), -1); // [n, d/2, 1]
    const sin = tf.expandDims(tf.sin(angles), -1);
    const pairs = tf.reshape(x, [...x.shape.slice(0, -1), d! / 2, 2]);
    const [even, odd] = tf.split(pairs, 2, -1) as [tf.Tensor, tf.Tensor];
    const rotated = tf.concat([tf.sub(tf.mul(even, cos), tf.mul(odd, sin)), tf.add(tf.mul(even, sin), tf.mul(odd, cos))], -1);
    return tf.reshape(rotated, x.shape);
  });
}
