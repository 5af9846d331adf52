/**
 * A small training loop that reads well in a notebook and in a terminal: one progress line every
 * `logEvery` steps (epoch, step, smoothed loss, steps per second, time left) and a summary at the
 * end; optional periodic evaluation with early stopping (提前停止); seeded shuffling of the
 * training items. The loop is generic: the caller supplies one optimisation step.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';

/** Serves mini-batches from a list of items, reshuffled with a seeded Rng at every epoch. */
export class Batcher<T> {
  private order: number[] = [];
  private cursor = 0;
  private readonly rng: Rng;
  /** Completed passes over the data. */
  epoch = 0;

  constructor(
    private readonly items: readonly T[],
    readonly batchSize: number,
    seed = 1,
  ) {
    if (items.length === 0) throw new Error('Batcher: no items');
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`Batcher: batchSize must be a positive integer, got ${batchSize}`);
    this.rng = new Rng(seed);
    this.reshuffle();
  }

  private reshuffle(): void {
    this.order = this.rng.shuffle(Array.from({ length: this.items.length }, (_, i) => i));
    this.cursor = 0;
  }

  /** Steps per epoch (the last, partial batch of an epoch is dropped). */
  get stepsPerEpoch(): number {
    return Math.max(1, Math.floor(this.items.length / this.batchSize));
  }

  next(): T[] {
    if (this.cursor + this.batchSize > this.order.length) {
      this.epoch++;
      this.reshuffle();
    }
    const size = Math.min(this.batchSize, this.order.length);
    const batch = this.order.slice(this.cursor, this.cursor + size).map((i) => this.items[i]!);
    this.cursor += size;
    return batch;
  }
}

/** Stop when a metric has not improved by `minDelta` for `patience` evaluations. */
export class EarlyStopping {
  best: number;
  bestStep = -1;
  private bad = 0;
  constructor(
    readonly options: { patience: number; mode?: 'min' | 'max'; minDelta?: number } = { patience: 3 },
  ) {
    this.best = (options.mode ?? 'min') === 'min' ? Infinity : -Infinity;
  }
  /** Record a value; true when training should stop. */
  update(value: number, step = -1): boolean {
    const { mode = 'min', minDelta = 0, patience } = this.options;
    const better = mode === 'min' ? value < this.best - minDelta : value > this.best + minDelta;
    if (better) {
      this.best = value;
      this.bestStep = step;
      this.bad = 0;
    } else this.bad++;
    return this.bad >= patience;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export interface TrainLoopOptions {
  /** Total optimisation steps (the loop may stop earlier: early stopping, time limit). */
  steps: number;
  /** One optimisation step; returns the training loss. `step` counts from 0. */
  step: (step: number) => number | Promise<number>;
  /** Steps per epoch, only for the progress line. */
  stepsPerEpoch?: number;
  /** Print a line every this many steps (default: about 10 lines per run). 0 prints only the summary. */
  logEvery?: number;
  /** Evaluate every `every` steps (and at the end); `fn` returns the metric. */
  evaluate?: { every: number; fn: () => number | Promise<number>; name?: string; mode?: 'min' | 'max'; patience?: number; target?: number };
  /** Stop after this many seconds of training. */
  timeLimitSeconds?: number;
  /** A label at the start of each line, e.g. the model name. */
  label?: string;
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
}

export interface TrainHistory {
  losses: number[];
  evals: { step: number; value: number }[];
  steps: number;
  seconds: number;
  stoppedBecause: 'done' | 'early-stopping' | 'target' | 'time-limit';
  /** Mean loss over the last 10% of steps. */
  finalLoss: number;
}

/**
 * Run `options.step` for `options.steps` steps with progress lines, evaluation and early stopping.
 * Checks that a step leaks no tensors (a leak would grow memory by the same count every step).
 */
export async function trainLoop(options: TrainLoopOptions): Promise<TrainHistory> {
  const { steps, stepsPerEpoch, label, evaluate } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const logEvery = options.logEvery ?? Math.max(1, Math.round(steps / 10));
  const prefix = label ? `[${label}] ` : '';
  const losses: number[] = [];
  const evals: { step: number; value: number }[] = [];
  const stopper = evaluate?.patience !== undefined ? new EarlyStopping({ patience: evaluate.patience, mode: evaluate.mode }) : null;
  const started = performance.now();
  let stoppedBecause = 'done' as TrainHistory['stoppedBecause'];
  let smoothed = NaN;
  let done = 0;
  const tensorsBefore = tf.memory().numTensors;

  const runEval = async (step: number): Promise<boolean> => {
    if (!evaluate) return false;
    const value = await evaluate.fn();
    evals.push({ step, value });
    if (logEvery > 0) log(`${prefix}  eval at step ${step}: ${evaluate.name ?? 'metric'} = ${value.toFixed(4)}`);
    if (evaluate.target !== undefined && ((evaluate.mode ?? 'min') === 'min' ? value <= evaluate.target : value >= evaluate.target)) {
      stoppedBecause = 'target';
      return true;
    }
    if (stopper?.update(value, step)) {
      stoppedBecause = 'early-stopping';
      return true;
    }
    return false;
  };

  for (let s = 0; s < steps; s++) {
    const loss = await options.step(s);
    losses.push(loss);
    done = s + 1;
    smoothed = Number.isNaN(smoothed) ? loss : 0.9 * smoothed + 0.1 * loss;
    if (s === 0 && tf.memory().numTensors > tensorsBefore + 1000) {
      log(`${prefix}warning: the first step left ${tf.memory().numTensors - tensorsBefore} tensors behind`);
    }
    const elapsed = (performance.now() - started) / 1000;
    if (logEvery > 0 && (done % logEvery === 0 || done === steps)) {
      const rate = done / elapsed;
      const epoch = stepsPerEpoch ? `epoch ${Math.floor(s / stepsPerEpoch) + 1} · ` : '';
      log(`${prefix}${epoch}step ${done}/${steps} · loss ${smoothed.toFixed(4)} · ${rate.toFixed(1)} steps/s · ${formatDuration((steps - done) / rate)} left`);
    }
    if (evaluate && done % evaluate.every === 0 && done !== steps && (await runEval(done))) break;
    if (options.timeLimitSeconds !== undefined && elapsed > options.timeLimitSeconds) {
      stoppedBecause = 'time-limit';
      break;
    }
  }
  if (evaluate && stoppedBecause !== 'early-stopping' && stoppedBecause !== 'target') await runEval(done);
  const seconds = (performance.now() - started) / 1000;
  const tail = losses.slice(-Math.max(1, Math.round(losses.length / 10)));
  const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
  const why = stoppedBecause === 'done' ? '' : ` (stopped: ${stoppedBecause})`;
  log(`${prefix}trained ${done} steps in ${formatDuration(seconds)} (${(done / seconds).toFixed(1)} steps/s), final loss ${finalLoss.toFixed(4)}${why}`);
  return { losses, evals, steps: done, seconds, stoppedBecause, finalLoss };
}

/**
 * One epoch of mini-batches grouped by length (bucketing): items are shuffled, cut into pools of
 * `poolBatches` batches, each pool is sorted by `length`, cut into batches, and the batches are
 * shuffled. Batches then hold items of similar length, so padding (and, for recurrent models,
 * the number of time steps) shrinks. Seeded.
 */
export function bucketedBatches<T>(items: readonly T[], batchSize: number, length: (item: T) => number, seed = 1, poolBatches = 50): T[][] {
  const rng = new Rng(seed);
  const shuffled = rng.shuffle(items);
  const batches: T[][] = [];
  const poolSize = batchSize * poolBatches;
  for (let p = 0; p < shuffled.length; p += poolSize) {
    const pool = shuffled.slice(p, p + poolSize).sort((a, b) => length(a) - length(b));
    for (let i = 0; i + batchSize <= pool.length; i += batchSize) batches.push(pool.slice(i, i + batchSize));
  }
  return rng.shuffle(batches);
}
