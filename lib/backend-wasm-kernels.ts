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

/** Register the missing kernels on the wasm backend, and the faster copies below (idempotent). */
export function registerWasmGapKernels(): void {
  registerFastWasmKernels();
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

/*
 * Faster data-movement kernels (Slice, Unpack, GatherV2) for the wasm backend of TensorFlow.js
 * 4.22. Results are identical to the stock kernels; only the copying changes.
 *
 * Why: the stock wasm Slice reads its input with `readSync`, which copies the *whole* input out
 * of the wasm heap before taking the slice, so splitting [h, n, d] into h heads copies
 * h·(h·n·d) floats instead of h·n·d (measured: 50–60 ms of a 250 ms attention call at n = 1024);
 * Unpack (tf.unstack) is h such slices. The stock GatherV2 copies element by element with
 * strides (about 10 ns per float). These versions copy contiguous runs through views of the heap.
 * `registerFastWasmKernels()` swaps them in (idempotent; a no-op until the wasm backend is
 * registered).
 */
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function sliceView(x: tf.TensorInfo, begin: number[], size: number[], backend: WasmBackendLike): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  // Views are taken after makeOutput, which may grow (and so move) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= x.shape[i]!;
  }
  // The trailing axes taken whole (and the first one that is not) form one contiguous run.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === x.shape[inner]) inner--;
  const run = size.slice(inner).reduce((a, b) => a * b, 1);
  const outer = size.slice(0, inner);
  const count = outer.reduce((a, b) => a * b, 1);
  const index = new Array<number>(inner).fill(0);
  let written = 0;
  for (let r = 0; r < count; r++) {
    let offset = begin[inner]! * strides[inner]!;
    for (let a = 0; a < inner; a++) offset += (begin[a]! + index[a]!) * strides[a]!;
    dst.set(src.subarray(offset, offset + run), written);
    written += run;
    for (let a = inner - 1; a >= 0; a--) {
      if (++index[a]! < outer[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}

/** out[o, i, :] = x[o, indices[i], :] with runs of prod(x.shape[axis+1:]) floats (batchDims 0). */
function gatherRows(x: tf.TensorInfo, indices: tf.TensorInfo, axis: number, backend: WasmBackendLike): tf.TensorInfo {
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const dim = x.shape[axis]!;
  const run = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const idx = backend.typedArrayFromHeap(indices);
  const dst = backend.typedArrayFromHeap(out);
  const count = idx.length;
  for (let i = 0; i < count; i++) {
    if (!(idx[i]! >= 0 && idx[i]! < dim)) throw new Error(`GatherV2: the index value ${idx[i]} is not in [0, ${dim - 1}]`);
  }
  let written = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * dim * run;
    for (let i = 0; i < count; i++) {
      const from = base + idx[i]! * run;
      dst.set(src.subarray(from, from + run), written);
      written += run;
    }
  }
  return out;
}

let installed = false;

/** Replace the wasm Slice, Unpack and GatherV2 kernels by view-based ones (see the file comment). */
export function registerFastWasmKernels(): void {
  if (installed || tf.getKernel('Slice', 'wasm') === undefined) return;
  const stockSlice = tf.getKernel('Slice', 'wasm')!.kernelFunc;
  const slice = (args: KernelArgs): tf.TensorInfo => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string' || x.dtype === 'complex64') return stockSlice(args as never) as tf.TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs!['begin'] as number[], args.attrs!['size'] as number[]);
    return sliceView(x, begin, size, args.backend as WasmBackendLike);
  };
  const stockUnpack = (tf.getKernel('Unpack', 'wasm') as tf.KernelConfig | undefined)?.kernelFunc;
  const unpack = (args: KernelArgs): tf.TensorInfo[] => {
    const value = args.inputs['value']!;
    if (value.dtype === 'string' || value.dtype === 'complex64') return stockUnpack!(args as never) as tf.TensorInfo[];
    const rank = value.shape.length;
    let axis = Number(args.attrs!['axis']);
    if (axis < 0) axis += rank;
    const outShape = value.shape.filter((_, i) => i !== axis);
    const size = value.shape.slice();
    size[axis] = 1;
    return Array.from({ length: value.shape[axis]! }, (_, i) => {
      const begin = value.shape.map((_, a) => (a === axis ? i : 0));
      const { dataId, dtype } = sliceView(value, begin, size, args.backend as WasmBackendLike);
      return { dataId, dtype, shape: outShape };
    });
  };
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ kernelName: 'Slice', backendName: 'wasm', kernelFunc: slice as unknown as tf.KernelFunc });
  if (stockUnpack) {
    tf.unregisterKernel('Unpack', 'wasm');
    tf.registerKernel({ kernelName: 'Unpack', backendName: 'wasm', kernelFunc: unpack as unknown as tf.KernelFunc });
  }
  const stockGather = (tf.getKernel('GatherV2', 'wasm') as tf.KernelConfig | undefined)?.kernelFunc;
  if (stockGather) {
    const gather = (args: KernelArgs): tf.TensorInfo => {
      const x = args.inputs['x']!;
      const indices = args.inputs['indices']!;
      const batchDims = Number(args.attrs!['batchDims'] ?? 0);
      if (batchDims !== 0 || indices.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return stockGather(args as never) as tf.TensorInfo;
      let axis = Number(args.attrs!['axis']);
      if (axis < 0) axis += x.shape.length;
      return gatherRows(x, indices, axis, args.backend as WasmBackendLike);
    };
    tf.unregisterKernel('GatherV2', 'wasm');
    tf.registerKernel({ kernelName: 'GatherV2', backendName: 'wasm', kernelFunc: gather as unknown as tf.KernelFunc });
  }
  installed = true;
}
