/**
 * Visible tests for the graded exercises: friendly pass/fail lines inside a notebook.
 *
 *   check('masked softmax: a masked key gets weight 0', () => {
 *     const w = maskedSoftmaxByHand(tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[1, 1, 0]]));
 *     expectClose(w, [[0.2689, 0.7311, 0]], { atol: 1e-4 });
 *   });
 *
 * prints `✓ masked softmax: a masked key gets weight 0`, or `✗ …` with the expected and the
 * received shape or values, then throws so that the cell fails (nbgrader and
 * `attention-kit check` count a failing test cell as a failed test).
 *
 * These checks are for learners. The autograder does not run them: it calls the learner's
 * functions from its own process and compares with references it computes itself.
 */
import * as tf from '@tensorflow/tfjs';
import { formatShape } from './shapes.js';

/** A failed expectation: the message says what was expected and what was received. */
export class CheckFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailure';
  }
}

type Numeric = tf.Tensor | number | NestedNumbers;
interface NestedNumbers extends ReadonlyArray<number | NestedNumbers> {}

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/** Shape and flat values of a tensor, number or nested array (ragged arrays are an error). */
export function toShapeAndValues(x: unknown, what = 'value'): { shape: number[]; values: number[] } {
  if (isTensor(x)) return { shape: x.shape.slice(), values: Array.from(x.dataSync() as ArrayLike<number>) };
  if (typeof x === 'number') return { shape: [], values: [x] };
  if (typeof x === 'boolean') return { shape: [], values: [x ? 1 : 0] };
  if (Array.isArray(x)) {
    if (x.length === 0) return { shape: [0], values: [] };
    const parts = x.map((item, i) => toShapeAndValues(item, `${what}[${i}]`));
    const inner = parts[0]!.shape;
    for (const [i, p] of parts.entries()) {
      if (formatShape(p.shape) !== formatShape(inner)) {
        throw new CheckFailure(`${what} is ragged: ${what}[0] has shape ${formatShape(inner)} but ${what}[${i}] has ${formatShape(p.shape)}`);
      }
    }
    return { shape: [x.length, ...inner], values: parts.flatMap((p) => p.values) };
  }
  const kind = x === null ? 'null' : x === undefined ? 'undefined (did the function return anything?)' : typeof x;
  throw new CheckFailure(`${what} should be a tensor or numbers, received ${kind}`);
}

function preview(values: readonly number[], max = 8): string {
  const shown = values.slice(0, max).map((v) => (Number.isInteger(v) ? String(v) : v.toFixed(4)));
  return `[${shown.join(', ')}${values.length > max ? `, … (${values.length} values)` : ''}]`;
}

/** Throw unless `received` has exactly `shape`. */
export function expectShape(received: unknown, shape: readonly number[], what = 'result'): void {
  const got = toShapeAndValues(received, what).shape;
  if (formatShape(got) !== formatShape(shape)) {
    throw new CheckFailure(`${what}: expected shape ${formatShape(shape)}, received ${formatShape(got)}`);
  }
}

/**
 * Throw unless `received` has the shape of `expected` and |received − expected| ≤ atol + rtol·|expected|
 * everywhere (NaN never passes). Defaults: atol 1e-4, rtol 1e-4 (float32 arithmetic).
 */
export function expectClose(
  received: unknown,
  expected: Numeric,
  options: { atol?: number; rtol?: number; what?: string } = {},
): void {
  const { atol = 1e-4, rtol = 1e-4, what = 'result' } = options;
  const got = toShapeAndValues(received, what);
  const want = toShapeAndValues(expected, 'expected');
  if (formatShape(got.shape) !== formatShape(want.shape)) {
    throw new CheckFailure(`${what}: expected shape ${formatShape(want.shape)}, received ${formatShape(got.shape)}`);
  }
  for (let i = 0; i < want.values.length; i++) {
    const g = got.values[i]!;
    const w = want.values[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) {
      throw new CheckFailure(
        `${what}: element ${i} is ${g}, expected ${w} (atol ${atol}, rtol ${rtol})\n    expected ${preview(want.values)}\n    received ${preview(got.values)}`,
      );
    }
  }
}

/** Throw with `message` unless `condition` holds. */
export function expectTrue(condition: boolean, message: string): void {
  if (!condition) throw new CheckFailure(message);
}

export interface CheckOptions {
  /** Do not print the ✓ line when the check passes. */
  quiet?: boolean;
}

/**
 * Run one visible test: print `✓ name` or `✗ name` with the reason, and throw on failure so that
 * the cell fails. Tensors made inside `test` are disposed.
 */
export async function check(name: string, test: () => void | Promise<void>, options: CheckOptions = {}): Promise<void> {
  try {
    tf.engine().startScope();
    try {
      await test();
    } finally {
      tf.engine().endScope();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = /not implemented yet/.test(message) ? ' (write your code in the cell above, then run it)' : '';
    console.log(`✗ ${name}\n    ${message}${hint}`);
    throw new CheckFailure(`check failed: ${name}`);
  }
  if (!options.quiet) console.log(`✓ ${name}`);
}
