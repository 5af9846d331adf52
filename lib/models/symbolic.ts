/**
 * A tiny rule-based (symbolic, 符号主义) classifier in the spirit of 1970s–80s expert systems
 * such as MYCIN (Shortliffe 1976): knowledge is written by people as if-then rules over named
 * facts, the first rule whose conditions all hold decides, and every answer comes with the rule
 * that produced it. Beside it, `trainSoftmaxRegression` learns a classifier from examples
 * (the connectionist, 连接主义, way) for the same task.
 *
 * The toy task: name an animal's class (bird, mammal, fish, reptile) from yes/no observations.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';

export type Facts = Record<string, boolean | undefined>;

export interface Rule {
  /** Every listed fact must have this value (an unobserved fact never matches). */
  if: Record<string, boolean>;
  then: string;
  /** Why, in words (shown with the answer). */
  because: string;
}

export interface RuleAnswer {
  label: string;
  /** The rule that fired, or null when none did. */
  rule: Rule | null;
}

/** First matching rule wins; `fallback` when no rule matches. */
export function classifyWithRules(rules: readonly Rule[], facts: Facts, fallback = 'unknown'): RuleAnswer {
  for (const rule of rules) {
    if (Object.entries(rule.if).every(([fact, value]) => facts[fact] === value)) return { label: rule.then, rule };
  }
  return { label: fallback, rule: null };
}

export const ANIMAL_FEATURES = ['feathers', 'fur', 'milk', 'eggs', 'scales', 'gills', 'flies', 'swims', 'legs'] as const;
export const ANIMAL_CLASSES = ['bird', 'mammal', 'fish', 'reptile'] as const;

/** Prototype animals: their true features. Exceptions (bat, penguin, whale, platypus) included. */
export const ANIMALS: readonly { name: string; label: (typeof ANIMAL_CLASSES)[number]; facts: Record<(typeof ANIMAL_FEATURES)[number], boolean> }[] = [
  { name: 'sparrow', label: 'bird', facts: { feathers: true, fur: false, milk: false, eggs: true, scales: false, gills: false, flies: true, swims: false, legs: true } },
  { name: 'penguin', label: 'bird', facts: { feathers: true, fur: false, milk: false, eggs: true, scales: false, gills: false, flies: false, swims: true, legs: true } },
  { name: 'dog', label: 'mammal', facts: { feathers: false, fur: true, milk: true, eggs: false, scales: false, gills: false, flies: false, swims: false, legs: true } },
  { name: 'bat', label: 'mammal', facts: { feathers: false, fur: true, milk: true, eggs: false, scales: false, gills: false, flies: true, swims: false, legs: true } },
  { name: 'whale', label: 'mammal', facts: { feathers: false, fur: false, milk: true, eggs: false, scales: false, gills: false, flies: false, swims: true, legs: false } },
  { name: 'platypus', label: 'mammal', facts: { feathers: false, fur: true, milk: true, eggs: true, scales: false, gills: false, flies: false, swims: true, legs: true } },
  { name: 'trout', label: 'fish', facts: { feathers: false, fur: false, milk: false, eggs: true, scales: true, gills: true, flies: false, swims: true, legs: false } },
  { name: 'shark', label: 'fish', facts: { feathers: false, fur: false, milk: false, eggs: false, scales: true, gills: true, flies: false, swims: true, legs: false } },
  { name: 'lizard', label: 'reptile', facts: { feathers: false, fur: false, milk: false, eggs: true, scales: true, gills: false, flies: false, swims: false, legs: true } },
  { name: 'snake', label: 'reptile', facts: { feathers: false, fur: false, milk: false, eggs: true, scales: true, gills: false, flies: false, swims: false, legs: false } },
  { name: 'turtle', label: 'reptile', facts: { feathers: false, fur: false, milk: false, eggs: true, scales: true, gills: false, flies: false, swims: true, legs: true } },
];

/** Rules an expert might write; they are right on every prototype above. */
export const ANIMAL_RULES: readonly Rule[] = [
  { if: { feathers: true }, then: 'bird', because: 'only birds have feathers' },
  { if: { milk: true }, then: 'mammal', because: 'mammals feed their young milk' },
  { if: { gills: true }, then: 'fish', because: 'fish breathe with gills' },
  { if: { scales: true, gills: false }, then: 'reptile', because: 'scales without gills: a reptile' },
];

export interface AnimalSighting {
  name: string;
  label: string;
  /** Observed facts: a fact may be unobserved (undefined) or misreported. */
  facts: Facts;
}

/**
 * Noisy observations of the prototype animals: each fact is unobserved with probability `missing`
 * and flipped with probability `flip`. Real observations are like this; hand-written rules are not
 * written for it.
 */
export function makeAnimalSightings(count: number, options: { seed?: number; missing?: number; flip?: number } = {}): AnimalSighting[] {
  const { seed = 1, missing = 0.15, flip = 0.03 } = options;
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const a = rng.pick(ANIMALS);
    const facts: Facts = {};
    for (const f of ANIMAL_FEATURES) {
      const r = rng.float();
      facts[f] = r < missing ? undefined : r < missing + flip ? !a.facts[f] : a.facts[f];
    }
    return { name: a.name, label: a.label, facts };
  });
}

/** Facts → numbers for a learned model: +1 yes, −1 no, 0 unobserved. */
export function encodeFacts(facts: Facts, features: readonly string[] = ANIMAL_FEATURES): number[] {
  return features.map((f) => (facts[f] === undefined ? 0 : facts[f] ? 1 : -1));
}

export interface SoftmaxRegression {
  weights: number[][];
  bias: number[];
}

/**
 * Multinomial logistic regression, p(c | x) = softmax(x W + b)_c, trained by Adam on the mean
 * cross-entropy (full batch). Returns plain numbers so nothing needs disposing.
 */
export function trainSoftmaxRegression(
  inputs: number[][],
  labels: number[],
  numClasses: number,
  options: { steps?: number; learningRate?: number; seed?: number } = {},
): SoftmaxRegression {
  const { steps = 300, learningRate = 0.1, seed = 1 } = options;
  const d = inputs[0]?.length ?? 0;
  const w = tf.variable(tf.randomNormal([d, numClasses], 0, 0.01, 'float32', seed));
  const b = tf.variable(tf.zeros([numClasses]));
  const x = tf.tensor2d(inputs);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
  const opt = tf.train.adam(learningRate);
  for (let s = 0; s < steps; s++) {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar, false, [w, b]);
    cost?.dispose();
  }
  const model = { weights: w.arraySync() as number[][], bias: b.arraySync() as number[] };
  tf.dispose([w, b, x, y]);
  opt.dispose();
  return model;
}

/** Index of the most probable class. */
export function softmaxRegressionPredict(model: SoftmaxRegression, x: readonly number[]): number {
  const scores = model.bias.map((b, c) => x.reduce((s, v, i) => s + v * model.weights[i]![c]!, b));
  return scores.indexOf(Math.max(...scores));
}
