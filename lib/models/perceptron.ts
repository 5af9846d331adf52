/**
 * Rosenblatt's perceptron (感知机; F. Rosenblatt, "The perceptron: a probabilistic model for
 * information storage and organization in the brain", 1958):
 *
 *   ŷ = step(w·x + b),   on a mistake: w ← w + η (y − ŷ) x,  b ← b + η (y − ŷ).
 *
 * The rule converges whenever a separating line exists (Novikoff 1962) and never settles when none
 * does, which is why XOR defeats it (Minsky & Papert, "Perceptrons", 1969). Plain numbers, no
 * tensors: the 1958 algorithm fits in a few lines.
 */
import { Rng } from '../random.js';

/** Truth tables of two-input logic gates: inputs and 0/1 targets. */
export const LOGIC_GATES: Record<'AND' | 'OR' | 'XOR' | 'NAND', { inputs: number[][]; targets: number[] }> = {
  AND: { inputs: [[0, 0], [0, 1], [1, 0], [1, 1]], targets: [0, 0, 0, 1] },
  OR: { inputs: [[0, 0], [0, 1], [1, 0], [1, 1]], targets: [0, 1, 1, 1] },
  XOR: { inputs: [[0, 0], [0, 1], [1, 0], [1, 1]], targets: [0, 1, 1, 0] },
  NAND: { inputs: [[0, 0], [0, 1], [1, 0], [1, 1]], targets: [1, 1, 1, 0] },
};

export interface Perceptron {
  weights: number[];
  bias: number;
}

export function perceptronPredict(p: Perceptron, x: readonly number[]): 0 | 1 {
  if (x.length !== p.weights.length) throw new Error(`expected an input of ${p.weights.length} features, got ${x.length}`);
  const z = p.weights.reduce((s, w, i) => s + w * x[i]!, p.bias);
  return z > 0 ? 1 : 0;
}

export interface PerceptronRun {
  model: Perceptron;
  /** Mistakes made during each epoch. */
  mistakesPerEpoch: number[];
  /** True when an epoch passed with no mistake. */
  converged: boolean;
  /** The weights after each epoch, for drawing the decision line moving. */
  history: Perceptron[];
}

/** Train with the perceptron rule, visiting the examples in a seeded random order each epoch. */
export function trainPerceptron(
  inputs: readonly number[][],
  targets: readonly number[],
  options: { epochs?: number; learningRate?: number; seed?: number } = {},
): PerceptronRun {
  const { epochs = 50, learningRate = 0.1, seed = 1 } = options;
  if (inputs.length !== targets.length || inputs.length === 0) throw new Error(`trainPerceptron: ${inputs.length} inputs vs ${targets.length} targets`);
  const rng = new Rng(seed);
  const d = inputs[0]!.length;
  const model: Perceptron = { weights: Array.from({ length: d }, () => (rng.float() - 0.5) * 0.2), bias: 0 };
  const mistakesPerEpoch: number[] = [];
  const history: Perceptron[] = [];
  let converged = false;
  for (let e = 0; e < epochs; e++) {
    let mistakes = 0;
    for (const i of rng.shuffle(inputs.map((_, k) => k))) {
      const x = inputs[i]!;
      const error = targets[i]! - perceptronPredict(model, x);
      if (error !== 0) {
        mistakes++;
        model.weights = model.weights.map((w, j) => w + learningRate * error * x[j]!);
        model.bias += learningRate * error;
      }
    }
    mistakesPerEpoch.push(mistakes);
    history.push({ weights: [...model.weights], bias: model.bias });
    if (mistakes === 0) {
      converged = true;
      break;
    }
  }
  return { model, mistakesPerEpoch, converged, history };
}

/** Fraction of examples the perceptron gets right. */
export function perceptronAccuracy(p: Perceptron, inputs: readonly number[][], targets: readonly number[]): number {
  return inputs.filter((x, i) => perceptronPredict(p, x) === targets[i]).length / inputs.length;
}
