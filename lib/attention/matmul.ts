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
import { registerFastWasmKernels } from '../backend-wasm-kernels.js';

/** True on the wasm backend, where the per-entry code paths are faster; installs the fast data kernels. */
export function onWasm(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  registerFastWasmKernels();
  return true;
}

/**
 * Splitting a batched product into 2-D ones pays off on wasm only when each product is big
 * enough: measured here, for many small [32, 16] × [16, 32] products (a training batch) the
 * batched loop is 3–7× faster than one XNNPACK call per entry, for [128, 32] × [32, 128] they are
 * about even, and from [256, 64] × [64, 256] on the split is 2–5× faster. The threshold (2^20) is in
 * multiply-adds per entry (m·k·n).
 */
let splitMinWork = 2 ** 20;

/** Set the threshold (0 = always split, Infinity = never; for tests and experiments); returns the old one. */
export function setSplitThreshold(work: number): number {
  const old = splitMinWork;
  splitMinWork = work;
  return old;
}

/** Whether to run a batched product of [m, k] × [k, n] entries as separate 2-D products. */
export function splitBatches(m: number, k: number, n: number): boolean {
  return onWasm() && m * k * n >= splitMinWork;
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
  // A shared 2-D right operand (a projection such as Luong's W): fold the batch into the rows.
  // Besides being one 2-D product, this keeps the gradient of b 2-D: TensorFlow.js 4.22's
  // broadcasting matMul returns a gradient with the batch axes left in ([b, k, n] for b [k, n]).
  if (a.rank > 2 && b.rank === 2 && !transposeA) {
    return tf.tidy(() => {
      const k = a.shape[a.rank - 1]!;
      const rows = tf.reshape(a, [-1, k]);
      const product = tf.matMul(rows, b, false, transposeB);
      return tf.reshape(product, [...a.shape.slice(0, -1), product.shape[1]!]);
    });
  }
  if (!onWasm() || a.rank < 2 || b.rank < 2) return tf.matMul(a, b, transposeA, transposeB);
  const m = a.shape[a.rank - (transposeA ? 1 : 2)]!;
  const k = a.shape[a.rank - (transposeA ? 2 : 1)]!;
  const n = b.shape[b.rank - (transposeB ? 2 : 1)]!;
  const batchedB = b.shape.slice(0, -2).some((x) => x > 1);
  // Small batched products: the batched kernel's loop beats many tiny XNNPACK calls.
  if (batchedB && a.shape.slice(0, -2).some((x) => x > 1) && !splitBatches(m, k, n)) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => {
    const A = transposeA ? swapLastTwo(a) : a;
    const B = transposeB ? swapLastTwo(b) : b;
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
