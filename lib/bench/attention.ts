/**
 * The attention benchmark (`attention-kit bench`, `npm run bench`): exact, tiled, local, sparse
 * and linear attention over n = 128 … 8192 (d = 64, 8 heads, batch 1) on the active backend.
 *
 * For each method and n it records
 * - time: median wall time of a call, waiting for the output's data, and the median CPU time of
 *   this process during the call (process.cpuUsage). On the wasm and cpu backends TensorFlow.js
 *   computes on this one thread, so CPU time is the compute time even when other processes
 *   share the cores (wall time then also counts the waiting); throughput and scaling use CPU time
 *   there, wall time on GPU and native backends (whose work runs on other threads);
 * - GFLOP/s: the multiply-adds the method actually executes (2 FLOPs each) over that time;
 * - peak bytes: the largest total size of the tensor buffers alive at any moment of one call,
 *   minus what was alive before it (see measurePeakBytes). Every intermediate (scores, weights,
 *   tiles, stacked copies) is seen at its largest; views that share a buffer (reshapes) count
 *   once. Scratch memory inside a kernel (e.g. XNNPACK's packed weights) is not a tensor buffer
 *   and is not counted.
 * and, in the same run and with the same clock, the backend's matmul GFLOP/s on square 512² and
 * 1024² products (measured at the start and at the end; the best is the reference), so
 * that attention's throughput can be read as a fraction of what the backend's matmul achieves
 * (absolute numbers on a shared machine are noisy; ratios from one run are not).
 */
import * as tf from '@tensorflow/tfjs';
import {
  bigBirdPattern,
  linearAttention,
  localAttention,
  scaledDotProductAttention,
  sparseAttention,
  sparseLayout,
  tiledAttention,
} from '../attention/index.js';

export type MethodName = 'exact' | 'tiled' | 'local' | 'sparse' | 'linear';
export const METHODS: readonly MethodName[] = ['exact', 'tiled', 'local', 'sparse', 'linear'];

export interface BenchConfig {
  sizes: number[];
  heads: number;
  dHead: number;
  methods: readonly MethodName[];
  /** Tiled attention block sizes: keys per block and queries per block. */
  tiledBlock: number;
  tiledQueryBlock: number;
  /** Local attention radius. */
  window: number;
  /** Sparse pattern: block-sparse BigBird, counts in blocks of blockSize tokens. */
  sparse: { numGlobal: number; window: number; numRandom: number; blockSize: number };
  /** Skip a run whose predicted peak tensor bytes exceed this. */
  maxBytes: number;
  /** Skip larger n for a method once one call took longer than this (seconds). */
  maxCallSeconds: number;
}

export interface BenchRow {
  method: MethodName;
  n: number;
  /** Median seconds per call on the bench's clock (CPU time on wasm/cpu, else wall); null when skipped. */
  seconds: number | null;
  /** Median wall-clock seconds per call. */
  wallSeconds: number | null;
  /** Median process CPU seconds per call. */
  cpuSeconds: number | null;
  samples: number[];
  flops: number;
  gflops: number | null;
  /** Fraction of the backend's matmul GFLOP/s (the larger of the 512² and 1024² figures). */
  ofMatmul: number | null;
  peakBytes: number | null;
  /** For skipped runs: the predicted peak bytes, when that was the reason. */
  predictedBytes?: number;
  skipped?: string;
  note?: string;
}

export interface BenchResult {
  backend: string;
  date: string;
  machine: { cpus: number; node: string; platform: string };
  config: BenchConfig;
  matmul: { n: number; gflops: number }[];
  matmulGflops: number;
  /** Which clock `seconds` and GFLOP/s use. */
  clock: 'cpu' | 'wall';
  rows: BenchRow[];
  summary: Record<string, number | string | null>;
  /** How peak bytes were measured on this backend (see measurePeakBytes). */
  memoryMethod: string;
  seconds: number;
}

export function defaultConfig(options: { quick?: boolean; maxN?: number } = {}): BenchConfig {
  const all = [128, 256, 512, 1024, 2048, 4096, 8192];
  let sizes = options.quick ? [128, 256] : all;
  if (options.maxN !== undefined) sizes = all.filter((n) => n <= options.maxN!);
  return {
    sizes,
    heads: 8,
    dHead: 64,
    methods: METHODS,
    tiledBlock: 512,
    tiledQueryBlock: 2048,
    window: 128,
    sparse: { numGlobal: 1, window: 1, numRandom: 2, blockSize: 64 },
    // The wasm heap is at most 4 GiB and holds everything else too.
    maxBytes: 1.5 * 2 ** 30,
    maxCallSeconds: 60,
  };
}

const BYTES = 4; // float32

/** Peak live tensor bytes of exact attention, predicted: weights per head + stacked weights. */
function predictExactBytes(n: number, h: number, d: number): number {
  return 2 * h * n * n * BYTES + 4 * h * n * d * BYTES;
}

export interface CallTiming {
  /** Median of the chosen clock. */
  seconds: number;
  wallSeconds: number;
  cpuSeconds: number;
  samples: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The bench's clock: CPU time where TensorFlow.js computes on this thread (wasm, cpu). */
export function benchClock(backend = tf.getBackend()): 'cpu' | 'wall' {
  return backend === 'wasm' || backend === 'cpu' ? 'cpu' : 'wall';
}

/** Time `repeats` calls of fn (after `warmup` untimed ones), waiting for the output's data. */
export async function timeCalls(fn: () => tf.Tensor, repeats: number, warmup = 0): Promise<CallTiming> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = fn();
    await out.data();
    const dt = (performance.now() - t0) / 1000;
    const dc = process.cpuUsage(c0);
    out.dispose();
    if (i < warmup) continue;
    wall.push(dt);
    cpu.push((dc.user + dc.system) / 1e6);
  }
  const clock = benchClock();
  const samples = clock === 'cpu' ? cpu : wall;
  return { seconds: median(samples), wallSeconds: median(wall), cpuSeconds: median(cpu), samples };
}

/** Matmul GFLOP/s on n×n float32 products, on the bench's clock. */
export async function benchMatmul(n: number): Promise<{ n: number; gflops: number }> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  try {
    const t = await timeCalls(() => tf.matMul(a, b), 5, 2);
    return { n, gflops: (2 * n * n * n) / t.seconds / 1e9 };
  } finally {
    tf.dispose([a, b]);
  }
}

/** Repeats per size: enough for a median at small n, one or two at large n. */
function repeatsFor(seconds: number): number {
  if (seconds > 5) return 1;
  if (seconds > 1) return 2;
  if (seconds > 0.2) return 3;
  return 5;
}

export async function runAttentionBench(config: BenchConfig, log: (line: string) => void = () => {}): Promise<BenchResult> {
  const started = performance.now();
  const { heads: h, dHead: d } = config;
  const matmul: { n: number; gflops: number }[] = [];
  for (const n of [512, 1024]) matmul.push(await benchMatmul(n));
  log(`clock: ${benchClock() === 'cpu' ? 'process CPU time' : 'wall time'}`);
  log(`matmul: ${matmul.map((m) => `${m.n}² ${m.gflops.toFixed(1)} GFLOP/s`).join(', ')}`);

  const rows: BenchRow[] = [];
  const tooSlow = new Set<MethodName>();
  for (const n of config.sizes) {
    const q = tf.randomNormal([1, h, n, d], 0, 1, 'float32', 1);
    const k = tf.randomNormal([1, h, n, d], 0, 1, 'float32', 2);
    const v = tf.randomNormal([1, h, n, d], 0, 1, 'float32', 3);
    // The sparse layout depends only on the pattern and n: built once, outside the timing.
    const layout = config.methods.includes('sparse')
      ? sparseLayout(bigBirdPattern(n, { ...config.sparse, seed: 0 }), n, n, config.sparse.blockSize)
      : null;
    try {
      for (const method of config.methods) {
        const row = await benchOne(method, n, q, k, v, layout, config, tooSlow.has(method));
        rows.push(row);
        if (row.seconds !== null && row.seconds > config.maxCallSeconds) tooSlow.add(method);
        log(formatRow(row, maxMatmul(matmul)));
      }
    } finally {
      tf.dispose([q, k, v]);
    }
  }
  // Matmul again at the end: the machine may have been busier or quieter than at the start.
  for (const n of [512, 1024]) matmul.push(await benchMatmul(n));
  const reference = maxMatmul(matmul);
  for (const row of rows) row.ofMatmul = row.gflops === null ? null : row.gflops / reference;
  return {
    backend: tf.getBackend(),
    date: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    config,
    matmul,
    matmulGflops: reference,
    clock: benchClock(),
    rows,
    summary: summarise(rows, reference),
    memoryMethod: lastMemoryMethod,
    seconds: (performance.now() - started) / 1000,
  };
}

let lastMemoryMethod = '';

function maxMatmul(m: { gflops: number }[]): number {
  return Math.max(...m.map((x) => x.gflops));
}

async function benchOne(
  method: MethodName,
  n: number,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  layout: ReturnType<typeof sparseLayout> | null,
  config: BenchConfig,
  skipForTime: boolean,
): Promise<BenchRow> {
  const { heads: h, dHead: d } = config;
  const base = { method, n, samples: [] as number[], wallSeconds: null, cpuSeconds: null };
  let fn: () => tf.Tensor;
  let flops: number;
  let note: string | undefined;
  switch (method) {
    case 'exact': {
      flops = 4 * h * n * n * d;
      const predicted = predictExactBytes(n, h, d);
      if (predicted > config.maxBytes) {
        return { ...base, seconds: null, flops, gflops: null, ofMatmul: null, peakBytes: null, predictedBytes: predicted, skipped: `over memory: needs ~${(predicted / 2 ** 30).toFixed(1)} GiB of tensors (budget ${(config.maxBytes / 2 ** 30).toFixed(1)} GiB)` };
      }
      fn = () => {
        const { output, weights } = scaledDotProductAttention(q, k, v);
        weights.dispose();
        return output;
      };
      break;
    }
    case 'tiled':
      flops = 4 * h * n * n * d;
      note = `tiles of ${Math.min(config.tiledQueryBlock, n)} queries × ${Math.min(config.tiledBlock, n)} keys`;
      fn = () => tiledAttention(q, k, v, { blockSize: config.tiledBlock, queryBlockSize: config.tiledQueryBlock });
      break;
    case 'local': {
      const w = Math.min(config.window, n - 1);
      const B = Math.min(Math.max(16, Math.min(w, 256)), n);
      const computed = Math.ceil(n / B) * B * (B + 2 * w);
      flops = 4 * h * d * computed;
      note = `window ±${config.window}`;
      fn = () => localAttention(q, k, v, { window: config.window });
      break;
    }
    case 'sparse':
      flops = 4 * h * d * layout!.computedScores;
      note = `BigBird blocks of ${config.sparse.blockSize}: g=${config.sparse.numGlobal} w=${config.sparse.window} r=${config.sparse.numRandom}; ${(100 * layout!.allowedPairs / (n * n)).toFixed(1)}% of pairs`;
      fn = () => sparseAttention(q, k, v, { mask: layout! });
      break;
    case 'linear':
      flops = 4 * h * n * d * (d + 1);
      note = 'elu+1, non-causal';
      fn = () => linearAttention(q, k, v);
      break;
  }
  if (skipForTime) return { ...base, seconds: null, flops, gflops: null, ofMatmul: null, peakBytes: null, skipped: `time: a smaller n already took > ${config.maxCallSeconds} s`, note };

  // One measured call: peak bytes, and it doubles as the warm-up.
  const t0 = performance.now();
  const { result: out, peakBytes, method: memoryMethod } = await measurePeakBytes(fn);
  const firstSeconds = (performance.now() - t0) / 1000;
  out.dispose();
  lastMemoryMethod = memoryMethod;
  const timing = await timeCalls(fn, repeatsFor(firstSeconds));
  const gflops = flops / timing.seconds / 1e9;
  return { ...base, seconds: timing.seconds, wallSeconds: timing.wallSeconds, cpuSeconds: timing.cpuSeconds, samples: timing.samples, flops, gflops, ofMatmul: null, peakBytes, note };
}

/**
 * Run fn once and return its result with the peak of live tensor-buffer bytes during the call
 * (relative to the start). How, by backend:
 * - wasm: wrap the module's _malloc/_free, through which the backend allocates every tensor
 *   buffer, and keep a running total (exact, and updated inside kernels as they allocate);
 * - cpu: wrap the backend's data map (set/delete of each buffer), likewise;
 * - others: tf.profile's per-kernel snapshots of tf.memory().numBytes, which counts a reshaped
 *   view a second time, so it overstates.
 */
export async function measurePeakBytes(fn: () => tf.Tensor): Promise<{ result: tf.Tensor; peakBytes: number; method: string }> {
  const backend = tf.backend() as unknown as Record<string, any>;
  const name = tf.getBackend();
  let current = 0;
  let peak = 0;
  const grow = (bytes: number) => {
    current += bytes;
    if (current > peak) peak = current;
  };
  if (name === 'wasm' && backend.wasm && typeof backend.wasm._malloc === 'function') {
    const module = backend.wasm as { _malloc: (n: number) => number; _free: (p: number) => void };
    const { _malloc: malloc, _free: free } = module;
    const sizes = new Map<number, number>();
    module._malloc = (n: number) => {
      const ptr = malloc(n);
      sizes.set(ptr, n);
      grow(n);
      return ptr;
    };
    module._free = (ptr: number) => {
      const n = sizes.get(ptr);
      if (n !== undefined) {
        sizes.delete(ptr);
        current -= n;
      }
      free(ptr);
    };
    try {
      const result = fn();
      await result.data();
      return { result, peakBytes: peak, method: 'wasm heap: bytes malloc-ed for tensor buffers and not yet freed' };
    } finally {
      module._malloc = malloc;
      module._free = free;
    }
  }
  if (name === 'cpu' && backend.data && typeof backend.data.set === 'function') {
    const storage = backend.data as { set: (id: object, v: { values?: ArrayBufferView }) => void; delete: (id: object) => boolean; get: (id: object) => { values?: ArrayBufferView } | undefined };
    const { set, delete: remove } = storage;
    const sizes = new WeakMap<object, number>();
    storage.set = function (id, value) {
      const old = sizes.get(id);
      if (old !== undefined) current -= old;
      const n = value?.values?.byteLength ?? 0;
      sizes.set(id, n);
      grow(n);
      return set.call(this, id, value);
    };
    storage.delete = function (id) {
      const n = sizes.get(id);
      if (n !== undefined) {
        sizes.delete(id);
        current -= n;
      }
      return remove.call(this, id);
    };
    try {
      const result = fn();
      await result.data();
      return { result, peakBytes: peak, method: 'cpu: bytes of buffers written to the backend and not yet deleted' };
    } finally {
      storage.set = set;
      storage.delete = remove;
    }
  }
  const before = tf.memory().numBytes;
  const profile = await tf.profile(() => fn());
  const result = profile.result as tf.Tensor;
  await result.data();
  return { result, peakBytes: Math.max(0, ...profile.kernels.map((k) => k.totalBytesSnapshot)) - before, method: 'tf.profile: max tf.memory().numBytes after each kernel (counts views twice)' };
}

/** Least-squares slope of log(time) against log(n): ≈1 linear, ≈2 quadratic. */
export function scalingExponent(rows: BenchRow[], method: MethodName, minN = 1024): number | null {
  const pts = rows.filter((r) => r.method === method && r.seconds !== null && r.n >= minN).map((r) => [Math.log(r.n), Math.log(r.seconds!)] as const);
  if (pts.length < 2) return null;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const num = pts.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = pts.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return num / den;
}

function summarise(rows: BenchRow[], matmul: number): Record<string, number | string | null> {
  const find = (method: MethodName, n: number) => rows.find((r) => r.method === method && r.n === n);
  const exact1024 = find('exact', 1024);
  const largest = Math.max(...rows.map((r) => r.n));
  const exactBig = find('exact', largest);
  const tiledBig = find('tiled', largest);
  const exactPeak = exactBig?.peakBytes ?? exactBig?.predictedBytes ?? null;
  const summary: Record<string, number | string | null> = {
    matmulGflops: matmul,
    exactGflopsAt1024: exact1024?.gflops ?? null,
    exactFractionOfMatmulAt1024: exact1024?.ofMatmul ?? null,
    largestN: largest,
    exactPeakBytesAtLargestN: exactPeak,
    exactAtLargestN: exactBig?.skipped ?? (exactBig ? 'ran' : null),
    tiledPeakBytesAtLargestN: tiledBig?.peakBytes ?? null,
    tiledOverExactPeakAtLargestN: exactPeak && tiledBig?.peakBytes ? tiledBig.peakBytes / exactPeak : null,
  };
  for (const m of METHODS) summary[`${m}TimeExponent`] = scalingExponent(rows, m);
  return summary;
}

const mib = (b: number | null | undefined) => (b === null || b === undefined ? '' : (b / 2 ** 20).toFixed(1));

export function formatRow(r: BenchRow, matmul: number): string {
  if (r.seconds === null) return `${r.method.padEnd(7)} ${String(r.n).padStart(5)}  skipped: ${r.skipped}`;
  const pct = ((r.gflops! / matmul) * 100).toFixed(0);
  return `${r.method.padEnd(7)} ${String(r.n).padStart(5)} ${(r.wallSeconds! * 1000).toFixed(1).padStart(10)} ${(r.cpuSeconds! * 1000).toFixed(1).padStart(10)} ${r.gflops!.toFixed(2).padStart(8)} ${pct.padStart(5)}% ${mib(r.peakBytes).padStart(10)}  ${r.note ?? ''}`;
}

export function formatTable(result: BenchResult): string {
  const lines = [
    `attention benchmark on ${result.backend} (${result.machine.cpus} CPUs, node ${result.machine.node}), d=${result.config.dHead}, ${result.config.heads} heads, batch 1`,
    `matmul: ${result.matmul.map((m) => `${m.n}² ${m.gflops.toFixed(1)}`).join(', ')} GFLOP/s → reference ${result.matmulGflops.toFixed(1)} GFLOP/s`,
    `clock for GFLOP/s and scaling: ${result.clock === 'cpu' ? 'process CPU time (single-threaded backend; immune to other load)' : 'wall time'}`,
    `peak memory: ${result.memoryMethod}`,
    '',
    `${'method'.padEnd(7)} ${'n'.padStart(5)} ${'wall ms'.padStart(10)} ${'cpu ms'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'%mm'.padStart(6)} ${'peak MiB'.padStart(10)}  note`,
    ...result.rows.map((r) => formatRow({ ...r }, result.matmulGflops)),
    '',
    'summary:',
    ...Object.entries(result.summary).map(([key, value]) => `  ${key}: ${typeof value === 'number' ? (Math.abs(value) >= 1e6 ? `${(value / 2 ** 20).toFixed(1)} MiB` : value.toFixed(3)) : value}`),
  ];
  return lines.join('\n');
}

/** Plotly scaling curves (time, GFLOP/s, peak memory against n) as a standalone HTML page. */
export function benchHtml(result: BenchResult, plotlyScript: { src?: string; inline?: string }): string {
  const series = (y: (r: BenchRow) => number | null) =>
    result.config.methods.map((m) => {
      const rs = result.rows.filter((r) => r.method === m && r.seconds !== null);
      return { type: 'scatter', mode: 'lines+markers', name: m, x: rs.map((r) => r.n), y: rs.map(y) };
    });
  const sizes = result.config.sizes;
  const charts = [
    { id: 'time', title: `Time per call (s, ${result.clock === 'cpu' ? 'process CPU time' : 'wall time'})`, data: series((r) => r.seconds), ylog: true },
    {
      id: 'gflops',
      title: 'Throughput (GFLOP/s executed; dashed: matmul)',
      data: [...series((r) => r.gflops), { type: 'scatter', mode: 'lines', name: 'matmul (reference)', x: [sizes[0], sizes[sizes.length - 1]], y: [result.matmulGflops, result.matmulGflops], line: { dash: 'dash', color: 'black' } }],
      ylog: false,
    },
    { id: 'memory', title: 'Peak tensor memory per call (MiB)', data: series((r) => (r.peakBytes === null ? null : r.peakBytes / 2 ** 20)), ylog: true },
  ];
  const script = plotlyScript.inline ? `<script>${plotlyScript.inline}</script>` : `<script src="${plotlyScript.src}"></script>`;
  const body = charts
    .map((c) => {
      const layout = { title: { text: c.title }, xaxis: { title: { text: 'sequence length n' }, type: 'log', tickvals: sizes }, yaxis: { type: c.ylog ? 'log' : 'linear' }, height: 420 };
      return `<div id="${c.id}"></div>\n<script>Plotly.newPlot(${JSON.stringify(c.id)}, ${JSON.stringify(c.data)}, ${JSON.stringify(layout)});</script>`;
    })
    .join('\n');
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>attention-kit benchmark (${result.backend})</title>${script}</head>
<body style="font-family: sans-serif; max-width: 960px; margin: auto">
<h1>Attention scaling on ${escape(result.backend)}</h1>
<p>d = ${result.config.dHead}, ${result.config.heads} heads, batch 1; ${escape(result.date)}. Peak memory: ${escape(result.memoryMethod)}. Skipped runs are absent from the curves.</p>
${body}
<pre>${escape(formatTable(result))}</pre>
</body></html>
`;
}
