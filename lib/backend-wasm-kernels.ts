/**
 * Kernels the wasm backend of TensorFlow.js 4.22 lacks, written in plain TypeScript over the
 * backend's own memory so that training works there too.
 *
 * UnsortedSegmentSum: out[s, ...] = Σ_{i : segmentIds[i] = s} x[i, ...]. TensorFlow.js uses it for
 * the gradient of `tf.gather`, i.e. of every embedding lookup, so without it no model with an
 * embedding can train on wasm.
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function unsortedSegmentSumKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs['x']!;
  const segmentIds = args.inputs['segmentIds']!;
  const numSegments = Number(args.attrs?.['numSegments']);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}`);
  }
  const ids = backend.readSync(segmentIds.dataId);
  const values = backend.readSync(x.dataId);
  // segmentIds covers the first segmentIds.shape.length axes of x; the rest is one "row".
  const leading = segmentIds.shape.reduce((a, b) => a * b, 1);
  const rowSize = leading === 0 ? 0 : x.shape.reduce((a, b) => a * b, 1) / leading;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const outValues = backend.typedArrayFromHeap(out);
  outValues.fill(0);
  for (let i = 0; i < leading; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const src = i * rowSize;
    const dst = s * rowSize;
    for (let j = 0; j < rowSize; j++) outValues[dst + j] += values[src + j]!;
  }
  return out;
}

let registered = false;

/** Register the missing kernels on the wasm backend (idempotent). */
export function registerWasmGapKernels(): void {
  if (registered) return;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: unsortedSegmentSumKernel as unknown as tf.KernelFunc,
    });
  }
  registered = true;
}
