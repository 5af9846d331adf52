/**
 * Batched matmul that is fast on every backend.
 *
 * Why this exists: in TensorFlow.js 4.22 the wasm backend sends a matmul to XNNPACK only when it
 * is a single (unbatched) product without transpose flags; a batched [h, n, d] × [h, d, n] or a
 * `transposeB` product runs a plain loop about 15× slower (measured here: 0.7 vs 10–17 GFLOP/s).
 * On wasm we therefore transpose explicitly and split the batch into 2-D products (or fold it
 * into the rows when the right operand has no batch). Other backends get tf.matMul unchanged.
 * All ops used are differentiable, so gradients flow as through tf.matMul.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFastWasmKernels } from './wasm-kernels.js';

/** True on the wasm backend, where the per-entry code paths are faster; installs the fast data kernels. */
export function onWasm(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  registerFastWasmKernels();
  return true;
}

const swapLastTwo = (x: tf.Tensor) => tf.transpose(x, [...x.shape.keys()].map((i) => (i === x.rank - 2 ? x.rank - 1 : i === x.rank - 1 ? x.rank - 2 : i)));

function broadcastShapes(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`matMul: batch dimensions [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    return Math.max(x, y);
  });
}

/** a [..., m, k] · b [..., k, n] (after the optional transposes) → [..., m, n], batch dims broadcast. */
export function batchedMatMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (!onWasm() || a.rank < 2 || b.rank < 2) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => {
    const A = transposeA ? swapLastTwo(a) : a;
    const B = transposeB ? swapLastTwo(b) : b;
    const [m, k] = A.shape.slice(-2) as [number, number];
    const n = B.shape[B.rank - 1]!;
    if (B.shape[B.rank - 2] !== k) return tf.matMul(A, B); // let TensorFlow.js raise its own error
    if (A.rank === 2 && B.rank === 2) return tf.matMul(A, B);
    const batchA = A.shape.slice(0, -2);
    const batchB = B.shape.slice(0, -2);
    const batch = broadcastShapes(batchA, batchB);
    const count = batch.reduce((s, x) => s * x, 1);
    // Right operand shared by every batch entry: fold the batch into the rows, one 2-D product.
    if (batchB.every((x) => x === 1)) {
      const rows = tf.reshape(tf.broadcastTo(A, [...batch, m, k]), [count * m, k]);
      return tf.reshape(tf.matMul(rows, tf.reshape(B, [k, n])), [...batch, m, n]);
    }
    const as = tf.unstack(tf.reshape(batchA.length === batch.length && batchA.every((x, i) => x === batch[i]) ? A : tf.broadcastTo(A, [...batch, m, k]), [count, m, k]));
    const bs = tf.unstack(tf.reshape(batchB.length === batch.length && batchB.every((x, i) => x === batch[i]) ? B : tf.broadcastTo(B, [...batch, k, n]), [count, k, n]));
    return tf.reshape(tf.stack(as.map((x, i) => tf.matMul(x, bs[i]!))), [...batch, m, n]);
  });
}
