/**
 * Independent reference implementations for the attention tests: plain loops over JS numbers,
 * written straight from the formulas, sharing no code with lib/attention.
 */
import { Rng } from '../../lib/random.js';

export type Mat = number[][];

/** A seeded standard-normal array of the given shape (nested). */
export function randn(shape: number[], seed: number, scale = 1): any {
  const rng = new Rng(seed);
  const build = (dims: number[]): any => (dims.length === 0 ? rng.normal() * scale : Array.from({ length: dims[0]! }, () => build(dims.slice(1))));
  return build(shape);
}

export function flat(x: any): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}

export function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function transpose(a: Mat): Mat {
  return a[0]!.map((_, j) => a.map((row) => row[j]!));
}

export function matmul(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, x, t) => s + x * b[t]![j]!, 0)));
}

/** softmax of one row over the allowed entries; all zeros when nothing is allowed. */
export function softmaxRow(row: number[], allowed?: boolean[]): number[] {
  const ok = allowed ?? row.map(() => true);
  let max = -Infinity;
  row.forEach((x, j) => {
    if (ok[j] && x > max) max = x;
  });
  if (max === -Infinity) return row.map(() => 0);
  const e = row.map((x, j) => (ok[j] ? Math.exp(x - max) : 0));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

/** Single-head attention with explicit loops: q [nq][d], k [nk][d], v [nk][dv]. */
export function naiveAttention(
  q: Mat,
  k: Mat,
  v: Mat,
  options: { allowed?: (i: number, j: number) => boolean; scale?: number; bias?: (i: number, j: number) => number } = {},
): { output: Mat; weights: Mat } {
  const scale = options.scale ?? 1 / Math.sqrt(q[0]!.length);
  const weights = q.map((qi, i) => {
    const scores = k.map((kj, j) => dot(qi, kj) * scale + (options.bias ? options.bias(i, j) : 0));
    return softmaxRow(scores, k.map((_, j) => (options.allowed ? options.allowed(i, j) : true)));
  });
  const output = weights.map((w) => v[0]!.map((_, c) => w.reduce((s, wj, j) => s + wj * v[j]![c]!, 0)));
  return { output, weights };
}
