/**
 * Recurrent networks and why they forget: a vanilla (Elman 1990) RNN and an LSTM (Hochreiter &
 * Schmidhuber 1997, with the forget gate of Gers et al. 2000), with the gradient of a loss at the
 * last step with respect to every earlier input exposed, to measure vanishing and exploding
 * gradients (梯度消失 / 梯度爆炸; Bengio, Simard & Frasconi 1994; Pascanu et al. 2013).
 *
 *   RNN:  h_t = φ(x_t Wx + h_{t−1} Wh + b)
 *   LSTM: [i, f, g, o] = [x_t, h_{t−1}] W + b;  c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g);  h_t = σ(o) ⊙ tanh(c_t)
 *
 * Backpropagating from step T to step t multiplies T−t Jacobians: in the RNN each is
 * diag(φ'(·)) Whᵀ, whose norm is usually below or above 1, so the product vanishes or explodes;
 * the LSTM's cell path multiplies by the forget gate σ(f) instead, which can stay near 1.
 */
import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes.js';

export type Activation = 'tanh' | 'relu' | 'linear';

export interface RnnParams {
  wx: tf.Tensor2D;
  wh: tf.Tensor2D;
  b: tf.Tensor1D;
}

export interface LstmParams {
  /** [inputSize + hiddenSize, 4·hiddenSize]; gate order i, f, g, o. */
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

/**
 * Vanilla RNN weights: Wx ~ N(0, 1/d), Wh ~ N(0, scale²/h), so `recurrentScale` is roughly the
 * spectral radius of Wh (circular law): < 1 shrinks signals, > 1 grows them.
 */
export function initRnn(options: { inputSize: number; hiddenSize: number; recurrentScale?: number; seed?: number }): RnnParams {
  const { inputSize: d, hiddenSize: h, recurrentScale = 1, seed = 1 } = options;
  return {
    wx: tf.randomNormal([d, h], 0, 1 / Math.sqrt(d), 'float32', seed) as tf.Tensor2D,
    wh: tf.randomNormal([h, h], 0, recurrentScale / Math.sqrt(h), 'float32', seed + 1) as tf.Tensor2D,
    b: tf.zeros([h]),
  };
}

/** LSTM weights (Glorot-scaled normal) with the forget-gate bias set to `forgetBias` (Jozefowicz et al. 2015 recommend ≥ 1). */
export function initLstm(options: { inputSize: number; hiddenSize: number; forgetBias?: number; seed?: number }): LstmParams {
  const { inputSize: d, hiddenSize: h, forgetBias = 1, seed = 1 } = options;
  const bias = new Float32Array(4 * h);
  bias.fill(forgetBias, h, 2 * h);
  return {
    w: tf.randomNormal([d + h, 4 * h], 0, 1 / Math.sqrt(d + h), 'float32', seed) as tf.Tensor2D,
    b: tf.tensor1d(bias),
  };
}

function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  return activation === 'tanh' ? tf.tanh(x) : activation === 'relu' ? tf.relu(x) : x;
}

/** Run the RNN over x [batch, T, d]; returns all hidden states [batch, T, h]. */
export function rnnForward(params: RnnParams, x: tf.Tensor3D, options: { activation?: Activation } = {}): tf.Tensor3D {
  const { T } = checkShapes({ inputs: [x, ['batch', 'T', 'd']], wx: [params.wx, ['d', 'h']], wh: [params.wh, ['h', 'h']] });
  const activation = options.activation ?? 'tanh';
  return tf.tidy(() => {
    const [batch] = x.shape;
    const inputProj = tf.add(tf.reshape(tf.matMul(tf.reshape(x, [-1, x.shape[2]]), params.wx), [batch, T!, -1]), params.b); // all steps at once
    const steps = tf.unstack(inputProj, 1);
    let h: tf.Tensor = tf.zeros([batch, params.wh.shape[0]]);
    const states: tf.Tensor[] = [];
    for (const xt of steps) {
      h = activate(tf.add(xt, tf.matMul(h, params.wh)), activation);
      states.push(h);
    }
    return tf.stack(states, 1) as tf.Tensor3D;
  });
}

/** Run the LSTM over x [batch, T, d]; returns all hidden states [batch, T, h]. */
export function lstmForward(params: LstmParams, x: tf.Tensor3D): tf.Tensor3D {
  const { T, d } = checkShapes({ inputs: [x, ['batch', 'T', 'd']] });
  const hidden = params.w.shape[1] / 4;
  checkShapes({ w: [params.w, [d! + hidden, 4 * hidden]] });
  return tf.tidy(() => {
    const [batch] = x.shape;
    const wx = tf.slice(params.w, [0, 0], [d!, -1]);
    const wh = tf.slice(params.w, [d!, 0], [hidden, -1]);
    const inputProj = tf.add(tf.reshape(tf.matMul(tf.reshape(x, [-1, d!]), wx), [batch, T!, -1]), params.b);
    let h: tf.Tensor = tf.zeros([batch, hidden]);
    let c: tf.Tensor = tf.zeros([batch, hidden]);
    const states: tf.Tensor[] = [];
    for (const xt of tf.unstack(inputProj, 1)) {
      const z = tf.add(xt, tf.matMul(h, wh));
      const [i, f, g, o] = tf.split(z, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      states.push(h);
    }
    return tf.stack(states, 1) as tf.Tensor3D;
  });
}

/**
 * ‖∂L/∂x_t‖ for every step t, where L is a loss on the LAST hidden state only: how much the input
 * at step t can still move the loss at step T. Returns T numbers (mean over the batch of each
 * example's norm). `readout` [h] defines L = Σ_batch h_T · readout (a fixed linear probe).
 */
export function gradientNormsPerStep(forward: (x: tf.Tensor3D) => tf.Tensor3D, x: tf.Tensor3D, readout: tf.Tensor1D): number[] {
  return tf.tidy(() => {
    const lossOf = (input: tf.Tensor): tf.Scalar => {
      const states = forward(input as tf.Tensor3D);
      const last = tf.squeeze(tf.slice(states, [0, states.shape[1] - 1, 0], [-1, 1, -1]), [1]);
      return tf.sum(tf.mul(last, readout)) as tf.Scalar;
    };
    const g = tf.grad(lossOf)(x); // [batch, T, d]
    const perExample = tf.sqrt(tf.sum(tf.square(g), 2)); // [batch, T]
    return Array.from(tf.mean(perExample, 0).dataSync());
  });
}

/** Ratio of the first step's gradient norm to the last step's (≪ 1: vanishing, ≫ 1: exploding). */
export function firstToLastRatio(norms: readonly number[]): number {
  return norms[0]! / norms[norms.length - 1]!;
}
