/**
 * Timing helpers shared by notebook 00, `attention-kit doctor` and the benchmarks. Times on shared
 * machines are noisy, so report ratios measured in one run (attention GFLOP/s over the same
 * backend's matmul GFLOP/s) rather than absolute numbers.
 */
import * as tf from '@tensorflow/tfjs';

export interface Timing {
  /** Median seconds per call. */
  seconds: number;
  /** All samples, seconds. */
  samples: number[];
}

/**
 * Median wall time of `fn`, which must return the tensor(s) it computes: we wait for their data
 * (GPU backends are asynchronous) and dispose them. Runs `warmup` untimed calls first.
 */
export async function timeOp(
  fn: () => tf.Tensor | tf.Tensor[],
  options: { warmup?: number; repeats?: number; minSeconds?: number } = {},
): Promise<Timing> {
  const { warmup = 1, repeats = 5, minSeconds = 0 } = options;
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const out = fn();
    const outs = Array.isArray(out) ? out : [out];
    await Promise.all(outs.map((t) => t.data()));
    const dt = (performance.now() - t0) / 1000;
    outs.forEach((t) => t.dispose());
    return dt;
  };
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < repeats || (performance.now() - started) / 1000 < minSeconds) {
    samples.push(await once());
    if (samples.length >= 1000) break;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { seconds: sorted[Math.floor(sorted.length / 2)]!, samples };
}

/** FLOPs of an [m, k] × [k, n] matmul (a multiply and an add per term). */
export function matmulFlops(m: number, k: number, n: number, batch = 1): number {
  return 2 * m * k * n * batch;
}

/** Matmul throughput of the active backend on n×n float32 matrices, in GFLOP/s. */
export async function matmulGflops(n = 512, options: { repeats?: number } = {}): Promise<{ n: number; gflops: number; seconds: number }> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  try {
    const { seconds } = await timeOp(() => tf.matMul(a, b), { warmup: 2, repeats: options.repeats ?? 5 });
    return { n, gflops: matmulFlops(n, n, n) / seconds / 1e9, seconds };
  } finally {
    a.dispose();
    b.dispose();
  }
}
