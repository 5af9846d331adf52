/**
 * Cross-backend agreement: run the same computation on several backends and compare. Every result
 * of the kit must agree across backends within a stated tolerance (float32 on every backend; GPU
 * backends may reorder sums, so 1e-4 absolute on O(1) values is the kit's standard).
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendName, useBackend, currentBackend } from './backend.js';

/** The kit's standard cross-backend tolerance for O(1) float32 results. */
export const BACKEND_TOLERANCE = 1e-4;

export interface BackendResult {
  backend: BackendName;
  shape: number[];
  values: number[];
}

/**
 * Run `compute` on each backend (each must load; use probeBackends to find the available ones)
 * and return the values as plain numbers. Inputs should be built inside `compute` from plain
 * arrays so that every backend sees identical numbers. The previously active backend is restored.
 */
export async function onEachBackend(backends: readonly BackendName[], compute: () => tf.Tensor): Promise<BackendResult[]> {
  const before = currentBackend()?.name;
  const beforeTf = tf.getBackend();
  const results: BackendResult[] = [];
  try {
    for (const backend of backends) {
      await useBackend(backend);
      const out = tf.tidy(compute);
      results.push({ backend, shape: out.shape, values: Array.from(await out.data()) });
      out.dispose();
    }
  } finally {
    if (before) await useBackend(before);
    else if (beforeTf) await tf.setBackend(beforeTf);
  }
  return results;
}

/** max |a_i - b_i|; Infinity when lengths differ or a value is NaN. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Infinity;
    worst = Math.max(worst, d);
  }
  return worst;
}
