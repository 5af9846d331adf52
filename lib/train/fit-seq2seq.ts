/**
 * Training and evaluation of the lessons' encoder-decoder models on string pairs (date
 * normalisation, copy, reverse): mini-batches bucketed by input length, Adam, clipping by
 * global norm, greedy decoding for exact match, and accuracy per input length.
 */
import type { CharVocab } from '../data/vocab.js';
import { Seq2Seq, encodePairs, disposeBatch } from '../models/seq2seq.js';
import { trainLoop, bucketedBatches, type TrainHistory } from './loop.js';
import { adam, trainStep } from './optim.js';
import { accuracyBy, charAccuracy, exactMatch } from './metrics.js';

export interface Pair {
  input: string;
  target: string;
}

export interface FitSeq2SeqOptions {
  srcVocab: CharVocab;
  tgtVocab: CharVocab;
  steps: number;
  batchSize?: number;
  learningRate?: number;
  clipNorm?: number;
  seed?: number;
  timeLimitSeconds?: number;
  label?: string;
  logEvery?: number;
  /** Evaluate exact match on these every `evalEvery` steps; stop once it reaches `targetAccuracy`. */
  validation?: readonly Pair[];
  evalEvery?: number;
  targetAccuracy?: number;
  /** Output steps to decode during evaluation (longest target + 1 for </s>). */
  maxOutput: number;
}

/** Train a Seq2Seq model in place; returns the training history. */
export async function fitSeq2Seq(model: Seq2Seq, train: readonly Pair[], options: FitSeq2SeqOptions): Promise<TrainHistory> {
  const { srcVocab, tgtVocab, steps, batchSize = 64, learningRate = 5e-3, clipNorm = 1, seed = 1 } = options;
  const optimizer = adam(learningRate);
  let batches: Pair[][] = [];
  let epoch = 0;
  const validation = options.validation;
  try {
    return await trainLoop({
      steps,
      label: options.label,
      logEvery: options.logEvery,
      timeLimitSeconds: options.timeLimitSeconds,
      stepsPerEpoch: Math.max(1, Math.floor(train.length / batchSize)),
      step: () => {
        if (batches.length === 0) batches = bucketedBatches(train, batchSize, (p) => p.input.length, seed + epoch++);
        const batch = encodePairs(batches.pop()!, srcVocab, tgtVocab);
        const r = trainStep(optimizer, () => model.loss(batch), { clipNorm, vars: model.variables });
        disposeBatch(batch);
        return r.loss;
      },
      evaluate:
        validation && options.evalEvery
          ? {
              every: options.evalEvery,
              name: 'validation exact match',
              mode: 'max',
              target: options.targetAccuracy,
              fn: () => evaluateSeq2Seq(model, validation, options).exactMatch,
            }
          : undefined,
    });
  } finally {
    optimizer.dispose();
  }
}

export interface Seq2SeqEvaluation {
  exactMatch: number;
  charAccuracy: number;
  outputs: string[];
  /** Exact match per input length bucket (bucket = ⌊length / bucketSize⌋ · bucketSize). */
  byLength: { key: number; accuracy: number; count: number }[];
}

/** Greedy-decode `examples` and score them. */
export function evaluateSeq2Seq(
  model: Seq2Seq,
  examples: readonly Pair[],
  options: { srcVocab: CharVocab; tgtVocab: CharVocab; maxOutput: number; bucketSize?: number },
): Seq2SeqEvaluation {
  const { outputs } = model.translate(examples.map((e) => e.input), options.srcVocab, options.tgtVocab, options.maxOutput);
  const targets = examples.map((e) => e.target);
  const bucket = options.bucketSize ?? 5;
  return {
    exactMatch: exactMatch(outputs, targets),
    charAccuracy: charAccuracy(outputs, targets),
    outputs,
    byLength: accuracyBy(
      examples.map((e) => Math.floor(e.input.length / bucket) * bucket),
      outputs.map((o, i) => o === targets[i]),
    ),
  };
}

/**
 * Attention mass on a span: for each example, the mean over the output positions `outputRange`
 * of the total alignment weight on the input characters `span` (e.g. the month field while the
 * model writes the month digits). alignments[i] is [T_out, T_in].
 */
export function attentionMassOnSpans(alignments: readonly number[][][], spans: readonly [number, number][], outputRange: [number, number]): number {
  let total = 0;
  alignments.forEach((a, i) => {
    const [s0, s1] = spans[i]!;
    let mass = 0;
    for (let t = outputRange[0]; t < outputRange[1]; t++) for (let j = s0; j < s1; j++) mass += a[t]![j]!;
    total += mass / (outputRange[1] - outputRange[0]);
  });
  return total / alignments.length;
}

