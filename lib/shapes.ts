/**
 * Shape checks that fail early with messages naming the shapes, in the style of
 * `expected keys [b, n, d] with d=64, got [2, 10, 32]`.
 *
 * A spec is a list of dimensions: a number (that exact size), a name (bound on first sight and
 * required to agree everywhere after), '*' (any size) or a leading '...' (any number of leading
 * axes, which must agree between all tensors that use '...').
 */
import type * as tf from '@tensorflow/tfjs';

export type Dim = string | number;
export type ShapeSpec = readonly Dim[];

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function shapeOf(x: tf.Tensor | readonly number[]): readonly number[] {
  return Array.isArray(x) ? (x as readonly number[]) : (x as tf.Tensor).shape;
}

/**
 * Check several tensors against their specs at once and return the bound sizes.
 *
 *   const { nq, nk, dk } = checkShapes({ queries: [q, ['...', 'nq', 'dk']], keys: [k, ['...', 'nk', 'dk']] });
 *
 * `known` pre-binds names (e.g. { d: 64 }) so that the message can say `with d=64`.
 */
export function checkShapes(
  specs: Record<string, readonly [tf.Tensor | readonly number[], ShapeSpec]>,
  known: Record<string, number> = {},
): Record<string, number> {
  const bound: Record<string, number> = { ...known };
  let leading: { shape: readonly number[]; owner: string } | null = null;
  for (const [name, [tensor, spec]] of Object.entries(specs)) {
    const shape = shapeOf(tensor);
    const fail = (why: string): never => {
      const relevant = spec.filter((d): d is string => typeof d === 'string' && d in bound && d !== '...' && d !== '*');
      const withPart = relevant.length > 0 ? ` with ${relevant.map((d) => `${d}=${bound[d]}`).join(', ')}` : '';
      throw new Error(`expected ${name} ${formatShape(spec)}${withPart}, got ${formatShape(shape)}${why ? ` (${why})` : ''}`);
    };
    const hasEllipsis = spec[0] === '...';
    const tail = hasEllipsis ? spec.slice(1) : spec;
    if (hasEllipsis ? shape.length < tail.length : shape.length !== tail.length) {
      fail(`rank ${shape.length}, expected ${hasEllipsis ? `at least ${tail.length}` : tail.length}`);
    }
    const offset = shape.length - tail.length;
    if (hasEllipsis) {
      const lead = shape.slice(0, offset);
      if (leading === null) leading = { shape: lead, owner: name };
      else if (lead.length !== leading.shape.length || lead.some((v, i) => v !== leading!.shape[i])) {
        fail(`leading axes ${formatShape(lead)} differ from ${leading.owner}'s ${formatShape(leading.shape)}`);
      }
    }
    // Bind names in a first pass so that a failure message can quote every size seen so far.
    const localBound: Record<string, number> = {};
    tail.forEach((dim, i) => {
      const size = shape[offset + i]!;
      if (dim === '*') return;
      if (typeof dim === 'number') {
        if (size !== dim) fail(`axis ${offset + i} is ${size}, expected ${dim}`);
        return;
      }
      const prior = bound[dim] ?? localBound[dim];
      if (prior !== undefined && prior !== size) {
        bound[dim] = prior;
        fail(`${dim} is ${size} here`);
      }
      localBound[dim] = size;
    });
    Object.assign(bound, localBound);
  }
  return bound;
}

/** Check one tensor; see checkShapes. */
export function checkShape(name: string, tensor: tf.Tensor | readonly number[], spec: ShapeSpec, known: Record<string, number> = {}): Record<string, number> {
  return checkShapes({ [name]: [tensor, spec] }, known);
}

/** Throw unless `shape` broadcasts to `target` (NumPy rules). */
export function checkBroadcastable(name: string, shape: readonly number[], targetName: string, target: readonly number[]): void {
  const ok =
    shape.length <= target.length &&
    shape.every((size, i) => {
      const t = target[target.length - shape.length + i]!;
      return size === 1 || size === t;
    });
  if (!ok) {
    throw new Error(`${name} ${formatShape(shape)} does not broadcast to ${targetName} ${formatShape(target)}`);
  }
}

/** Throw unless `value` is a positive integer. */
export function checkPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
}
