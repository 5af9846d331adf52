/**
 * A two-layer perceptron (多层感知机) trained with backpropagation (反向传播; Rumelhart, Hinton &
 * Williams, "Learning representations by back-propagating errors", Nature 1986). The backward
 * pass is written out by hand so that the chain rule is visible:
 *
 *   h = tanh(x W1 + b1),  p = σ(h W2 + b2),  L = −mean[y log p + (1−y) log(1−p)]
 *   dz2 = (p − y)/n,  dW2 = hᵀ dz2,  db2 = Σ dz2
 *   dh = dz2 W2ᵀ,  dz1 = dh ⊙ (1 − h²),  dW1 = xᵀ dz1,  db1 = Σ dz1
 */
import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes.js';

export interface MlpParams {
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

/** Small random weights (Glorot-uniform, seeded) and zero biases. */
export function initMlp(options: { inputs: number; hidden: number; outputs: number; seed?: number }): MlpParams {
  const { inputs, hidden, outputs, seed = 1 } = options;
  const glorot = (fanIn: number, fanOut: number, s: number): tf.Tensor2D => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', s) as tf.Tensor2D;
  };
  return { w1: glorot(inputs, hidden, seed), b1: tf.zeros([hidden]), w2: glorot(hidden, outputs, seed + 1), b2: tf.zeros([outputs]) };
}

/** Forward pass: hidden activations and output probabilities. */
export function mlpForward(params: MlpParams, x: tf.Tensor2D): { hidden: tf.Tensor2D; output: tf.Tensor2D } {
  checkShapes({ inputs: [x, ['n', 'din']], w1: [params.w1, ['din', 'dh']], w2: [params.w2, ['dh', 'dout']] });
  return tf.tidy(() => {
    const hidden = tf.tanh(tf.add(tf.matMul(x, params.w1), params.b1)) as tf.Tensor2D;
    const output = tf.sigmoid(tf.add(tf.matMul(hidden, params.w2), params.b2)) as tf.Tensor2D;
    return { hidden, output };
  });
}

/** Binary cross-entropy of probabilities p against 0/1 targets y (mean over all entries). */
export function binaryCrossEntropy(p: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
    return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(q)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, q)))))) as tf.Scalar;
  });
}

/** Loss and hand-written gradients of the binary cross-entropy (see the formulas above). */
export function mlpBackward(params: MlpParams, x: tf.Tensor2D, y: tf.Tensor2D): { loss: tf.Scalar; grads: MlpParams } {
  checkShapes({ inputs: [x, ['n', 'din']], targets: [y, ['n', 'dout']], w2: [params.w2, ['dh', 'dout']] });
  return tf.tidy(() => {
    const { hidden: h, output: p } = mlpForward(params, x);
    const n = x.shape[0];
    const dz2 = tf.div(tf.sub(p, y), n * y.shape[1]);
    const dw2 = tf.matMul(tf.transpose(h), dz2) as tf.Tensor2D;
    const db2 = tf.sum(dz2, 0) as tf.Tensor1D;
    const dh = tf.matMul(dz2, tf.transpose(params.w2));
    const dz1 = tf.mul(dh, tf.sub(1, tf.square(h))); // tanh'(z) = 1 − tanh(z)²
    const dw1 = tf.matMul(tf.transpose(x), dz1) as tf.Tensor2D;
    const db1 = tf.sum(dz1, 0) as tf.Tensor1D;
    return { loss: binaryCrossEntropy(p, y), grads: { w1: dw1, b1: db1, w2: dw2, b2: db2 } };
  });
}

/**
 * Full-batch gradient descent with the hand-written gradients. Returns new parameters (the
 * caller's are left alone) and the loss every 10 steps (and at the last).
 */
export function trainMlp(
  params: MlpParams,
  inputs: number[][],
  targets: number[][],
  options: { steps?: number; learningRate?: number } = {},
): { params: MlpParams; losses: number[] } {
  const { steps = 2000, learningRate = 0.5 } = options;
  const x = tf.tensor2d(inputs);
  const y = tf.tensor2d(targets);
  let current: MlpParams = tf.tidy(() => ({ w1: params.w1.clone(), b1: params.b1.clone(), w2: params.w2.clone(), b2: params.b2.clone() }));
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { loss, grads } = mlpBackward(current, x, y);
    const next = tf.tidy(() => ({
      w1: tf.sub(current.w1, tf.mul(learningRate, grads.w1)) as tf.Tensor2D,
      b1: tf.sub(current.b1, tf.mul(learningRate, grads.b1)) as tf.Tensor1D,
      w2: tf.sub(current.w2, tf.mul(learningRate, grads.w2)) as tf.Tensor2D,
      b2: tf.sub(current.b2, tf.mul(learningRate, grads.b2)) as tf.Tensor1D,
    }));
    if (s % 10 === 0 || s === steps - 1) losses.push(loss.dataSync()[0]!);
    tf.dispose([loss, Object.values(grads), Object.values(current)]);
    current = next;
  }
  tf.dispose([x, y]);
  return { params: current, losses };
}

/** 0/1 predictions (threshold 0.5) for plain-number inputs. */
export function mlpPredict(params: MlpParams, inputs: number[][]): number[][] {
  return tf.tidy(() => {
    const { output } = mlpForward(params, tf.tensor2d(inputs));
    return (output.arraySync() as number[][]).map((row) => row.map((p) => (p > 0.5 ? 1 : 0)));
  });
}

export function disposeMlp(params: MlpParams): void {
  tf.dispose(Object.values(params));
}
