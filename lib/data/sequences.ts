/**
 * Sequence tasks with long-range dependencies (长距离依赖): the answer depends on tokens far
 * back in the input, which is exactly what a recurrent network's fixed-size state struggles to
 * keep and what attention can look up directly. All are seeded and return plain strings, so a
 * learner can read the examples; encode them with CharVocab.
 */
import { Rng } from '../random.js';

export interface SequenceExample {
  input: string;
  target: string;
}

const SYMBOLS = 'abcdefghij0123456789';

function randomString(rng: Rng, length: number, alphabet = SYMBOLS): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[rng.int(0, alphabet.length)];
  return s;
}

/** Copy: the target is the input. Needs the whole input held until the decoder writes it. */
export function copyTask(rng: Rng, length: number): SequenceExample {
  const s = randomString(rng, length);
  return { input: s, target: s };
}

/** Reverse: the target is the input backwards (the first output needs the last input, etc.). */
export function reverseTask(rng: Rng, length: number): SequenceExample {
  const s = randomString(rng, length);
  return { input: s, target: [...s].reverse().join('') };
}

/**
 * Matching brackets: is the bracket string balanced? Unbalanced strings differ from a balanced
 * one by a single closing bracket of the wrong kind, often far from its partner, so the answer
 * depends on the opening bracket many steps back. Target "Y" or "N"; length is even.
 */
export function bracketsTask(rng: Rng, length: number): SequenceExample {
  if (length % 2 !== 0 || length < 2) throw new Error(`bracketsTask: length must be even and ≥ 2, got ${length}`);
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const openers = Object.keys(pairs);
  const out: string[] = [];
  const stack: string[] = [];
  let opened = 0;
  while (out.length < length) {
    const remaining = length - out.length;
    const mustClose = stack.length === remaining;
    const canOpen = !mustClose && opened < length / 2;
    if (canOpen && (stack.length === 0 || rng.float() < 0.5)) {
      const o = rng.pick(openers);
      stack.push(o);
      out.push(o);
      opened++;
    } else {
      out.push(pairs[stack.pop()!]!);
    }
  }
  if (rng.float() < 0.5) return { input: out.join(''), target: 'Y' };
  // Corrupt one closing bracket into a different closer.
  const closers = out.map((c, i) => (Object.values(pairs).includes(c) ? i : -1)).filter((i) => i >= 0);
  const i = rng.pick(closers);
  const others = Object.values(pairs).filter((c) => c !== out[i]);
  out[i] = rng.pick(others);
  return { input: out.join(''), target: 'N' };
}

/**
 * Associative recall: key-value pairs then a query key, e.g. "a3c7e1?c" → "7". Keys are distinct
 * letters, values digits; the answer sits wherever the key was, possibly at the very start.
 */
export function associativeRecallTask(rng: Rng, numPairs: number): SequenceExample {
  const keys = rng.shuffle([...'abcdefghijklmnopqrstuvwxyz']).slice(0, numPairs);
  if (keys.length < numPairs) throw new Error(`associativeRecallTask: at most 26 pairs, got ${numPairs}`);
  const values = keys.map(() => String(rng.int(0, 10)));
  const q = rng.int(0, numPairs);
  return { input: keys.map((k, i) => k + values[i]).join('') + '?' + keys[q], target: values[q]! };
}

/** Many examples of one task with lengths drawn uniformly from [minLength, maxLength]. */
export function makeSequenceExamples(
  task: (rng: Rng, length: number) => SequenceExample,
  count: number,
  options: { minLength: number; maxLength: number; seed?: number; step?: number },
): SequenceExample[] {
  const rng = new Rng(options.seed ?? 1);
  const step = options.step ?? 1;
  const choices: number[] = [];
  for (let n = options.minLength; n <= options.maxLength; n += step) choices.push(n);
  return Array.from({ length: count }, () => task(rng, rng.pick(choices)));
}
