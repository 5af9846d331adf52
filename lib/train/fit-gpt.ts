/**
 * Training loop for the GPT language model: random windows of the token stream, Adam, clipping
 * by global norm, progress lines from trainLoop.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { GPT, sampleWindows } from '../models/gpt.js';
import { trainLoop, type TrainHistory } from './loop.js';
import { adam, trainStep } from './optim.js';

export async function fitGPT(
  model: GPT,
  ids: Int32Array | readonly number[],
  options: { steps: number; batchSize?: number; learningRate?: number; clipNorm?: number; seed?: number; timeLimitSeconds?: number; label?: string; logEvery?: number },
): Promise<TrainHistory> {
  const { steps, batchSize = 8, learningRate = 3e-3, clipNorm = 1, seed = 1 } = options;
  const rng = new Rng(seed);
  const optimizer = adam(learningRate);
  try {
    return await trainLoop({
      steps,
      label: options.label ?? 'gpt',
      logEvery: options.logEvery,
      timeLimitSeconds: options.timeLimitSeconds,
      step: () => {
        const { inputs, targets } = sampleWindows(ids, batchSize, model.config.blockSize, rng);
        const r = trainStep(optimizer, () => model.loss(inputs, targets), { clipNorm, vars: model.variables });
        tf.dispose([inputs, targets]);
        return r.loss;
      },
    });
  } finally {
    optimizer.dispose();
  }
}
