/**
 * A tiny decoder-only Transformer language model in the GPT style (Radford et al. 2018, 2019),
 * laid out like nanoGPT's model.py: token + learned position embeddings, pre-norm blocks of causal
 * multi-head self-attention and a GELU MLP, a final layer norm, and an output layer tied to the
 * token embedding (Press & Wolf 2017).
 *
 * Sampling (采样): greedy (argmax), temperature (logits / T), and top-k (keep the k most likely
 * tokens; Fan et al. 2018). With `useCache` each new token runs through the network alone, and the
 * keys and values of earlier tokens come from a KV cache (lib/attention): the same tokens as
 * recomputing the whole prefix, for far less work per token.
 */
import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes.js';
import { matMul2d } from './matmul2d.js';
import { Rng } from '../random.js';
import {
  causalMask,
  maskedSoftmax,
  mergeHeads,
  splitHeads,
  createKVCache,
  disposeKVCache,
  initMultiHeadParams,
  multiHeadAttentionCached,
  type KVCache,
  type MultiHeadVariables,
} from '../attention/index.js';
import { feedForward, initFeedForward, initLayerNorm, layerNorm, type FeedForwardParams, type LayerNormParams } from './transformer.js';

export interface GptConfig {
  vocabSize: number;
  /** Longest context the model sees (number of learned positions). */
  blockSize: number;
  dModel?: number;
  numHeads?: number;
  numLayers?: number;
  /** MLP width, default 4·dModel. */
  dFF?: number;
  seed?: number;
}

interface GptBlock {
  ln1: LayerNormParams;
  attn: MultiHeadVariables;
  ln2: LayerNormParams;
  mlp: FeedForwardParams;
}

export interface SampleOptions {
  /** Number of new tokens. */
  steps: number;
  /** 0 = greedy (argmax); otherwise logits are divided by it before sampling. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  seed?: number;
  /** Use the KV cache (default true). */
  useCache?: boolean;
}

/** Pick a token from logits: greedy, temperature, top-k. Pure JS over the logits so both paths share it exactly. */
export function pickToken(logits: ArrayLike<number>, rng: Rng, options: { temperature?: number; topK?: number }): number {
  const temperature = options.temperature ?? 1;
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature === 0) return best;
  let allowed = Array.from({ length: n }, (_, i) => i);
  if (options.topK && options.topK < n) allowed = allowed.sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, options.topK);
  const max = logits[best]!;
  const weights = allowed.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.float() * total;
  for (let j = 0; j < allowed.length; j++) {
    u -= weights[j]!;
    if (u <= 0) return allowed[j]!;
  }
  return allowed[allowed.length - 1]!;
}

/**
 * Causal multi-head self-attention for training, computed with whole-batch tensor ops:
 * softmax(q kᵀ/√d_k, causal) v over all heads at once. The same result as lib/attention's
 * multiHeadAttention(params, x, x, { causal: true }), whose wasm path loops over (batch, head)
 * pairs in 2-D products: fast for one long sequence, but thousands of small kernels for a
 * training batch. Projections and masks come from lib/attention.
 */
export function causalSelfAttention(params: MultiHeadVariables, x: tf.Tensor, numHeads: number): { output: tf.Tensor; weights: tf.Tensor } {
  const [b, n, d] = x.shape as [number, number, number];
  return tf.tidy(() => {
    const flat = tf.reshape(x, [b * n, d]);
    const project = (w: tf.Tensor, bias: tf.Tensor | undefined) => {
      const y = matMul2d(flat, w);
      return splitHeads(tf.reshape(bias ? tf.add(y, bias) : y, [b, n, -1]), numHeads); // [b, h, n, dHead]
    };
    const q = project(params.wq, params.bq);
    const k = project(params.wk, params.bk);
    const v = project(params.wv, params.bv);
    const dHead = q.shape[3];
    const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(dHead)), tf.transpose(k, [0, 1, 3, 2])); // [b, h, n, n]
    const weights = maskedSoftmax(scores, causalMask(n));
    const merged = tf.reshape(mergeHeads(tf.matMul(weights, v)), [b * n, -1]);
    const out = matMul2d(merged, params.wo);
    return { output: tf.reshape(params.bo ? tf.add(out, params.bo) : out, [b, n, d]), weights };
  });
}

export class GPT {
  readonly config: Required<GptConfig>;
  readonly tokenEmbed: tf.Variable;
  readonly positionEmbed: tf.Variable;
  readonly blocks: GptBlock[];
  readonly lnFinal: LayerNormParams;

  constructor(config: GptConfig) {
    const dModel = config.dModel ?? 64;
    this.config = { dModel, numHeads: 4, numLayers: 2, dFF: 4 * dModel, seed: 1, ...config };
    const { vocabSize, blockSize, numHeads, numLayers, dFF, seed } = this.config;
    this.tokenEmbed = tf.variable(tf.randomNormal([vocabSize, dModel], 0, 0.02, 'float32', seed));
    this.positionEmbed = tf.variable(tf.randomNormal([blockSize, dModel], 0, 0.02, 'float32', seed + 1));
    this.blocks = Array.from({ length: numLayers }, (_, i) => ({
      ln1: initLayerNorm(dModel),
      attn: initMultiHeadParams({ dModel, numHeads, seed: seed + 100 * (i + 1) }),
      ln2: initLayerNorm(dModel),
      mlp: initFeedForward(dModel, dFF, seed + 100 * (i + 1) + 50),
    }));
    this.lnFinal = initLayerNorm(dModel);
  }

  get variables(): tf.Variable[] {
    const out: tf.Variable[] = [this.tokenEmbed, this.positionEmbed];
    for (const b of this.blocks) out.push(b.ln1.gamma, b.ln1.beta, ...(Object.values(b.attn) as tf.Variable[]), b.ln2.gamma, b.ln2.beta, ...Object.values(b.mlp));
    out.push(this.lnFinal.gamma, this.lnFinal.beta);
    return out;
  }

  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    tf.dispose(this.variables);
  }

  private embed(ids: tf.Tensor2D, offset: number): tf.Tensor {
    const n = ids.shape[1];
    if (offset + n > this.config.blockSize) throw new Error(`GPT: positions ${offset}…${offset + n - 1} exceed blockSize ${this.config.blockSize}`);
    return tf.add(tf.gather(this.tokenEmbed, ids), tf.slice(this.positionEmbed, [offset, 0], [n, -1]));
  }

  private head(x: tf.Tensor): tf.Tensor3D {
    const [b, n, d] = x.shape as [number, number, number];
    return tf.reshape(matMul2d(tf.reshape(layerNorm(x, this.lnFinal), [b * n, d]), tf.transpose(this.tokenEmbed)), [b, n, -1]) as tf.Tensor3D;
  }

  /** Logits [B, T, V] for ids [B, T] (T ≤ blockSize), and each layer's attention weights if asked. */
  forward(ids: tf.Tensor2D, options: { returnWeights?: boolean } = {}): { logits: tf.Tensor3D; weights: tf.Tensor[] } {
    checkShapes({ ids: [ids, ['B', 'T']] });
    return tf.tidy(() => {
      let x = this.embed(ids, 0);
      const weights: tf.Tensor[] = [];
      for (const b of this.blocks) {
        const h = layerNorm(x, b.ln1);
        const a = causalSelfAttention(b.attn, h, this.config.numHeads);
        if (options.returnWeights) weights.push(a.weights);
        x = tf.add(x, a.output);
        x = tf.add(x, feedForward(layerNorm(x, b.ln2), b.mlp, 'gelu'));
      }
      return { logits: this.head(x), weights };
    });
  }

  /** Mean next-token cross-entropy (nats) of targets [B, T] given inputs [B, T]. */
  loss(inputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const V = this.config.vocabSize;
      const { logits } = this.forward(inputs);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(targets, [-1]), V), tf.reshape(logits, [-1, V])) as tf.Scalar;
    });
  }

  /** Run new tokens ids [B, n] through the network with per-layer KV caches; returns last-position logits [B, V] and the new caches. */
  private forwardCached(ids: tf.Tensor2D, caches: KVCache[]): { logits: tf.Tensor2D; caches: KVCache[] } {
    const next: KVCache[] = [];
    const logits = tf.tidy(() => {
      let x = this.embed(ids, caches[0]!.length);
      this.blocks.forEach((b, i) => {
        const r = multiHeadAttentionCached(b.attn, layerNorm(x, b.ln1), caches[i]!, { numHeads: this.config.numHeads });
        next.push(r.cache);
        x = tf.add(x, r.output);
        x = tf.add(x, feedForward(layerNorm(x, b.ln2), b.mlp, 'gelu'));
      });
      const all = this.head(x);
      return tf.squeeze(tf.slice(all, [0, all.shape[1] - 1, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
    });
    return { logits, caches: next };
  }

  /**
   * Continue `prompt` (token ids, batch 1) by `steps` tokens. Without the cache every step re-runs
   * the last blockSize tokens; with it, prompt + steps must fit in blockSize.
   */
  generate(prompt: readonly number[], options: SampleOptions): number[] {
    if (prompt.length === 0) throw new Error('GPT.generate: empty prompt');
    const { steps, useCache = true } = options;
    const rng = new Rng(options.seed ?? 1);
    const out = [...prompt];
    if (!useCache) {
      for (let s = 0; s < steps; s++) {
        const context = out.slice(-this.config.blockSize);
        const last = tf.tidy(() => {
          const { logits } = this.forward(tf.tensor2d([context], [1, context.length], 'int32'));
          return tf.slice(logits, [0, context.length - 1, 0], [1, 1, -1]);
        });
        out.push(pickToken(last.dataSync(), rng, options));
        last.dispose();
      }
      return out.slice(prompt.length);
    }
    if (prompt.length + steps > this.config.blockSize) {
      throw new Error(`GPT.generate with the KV cache: prompt ${prompt.length} + ${steps} steps exceeds blockSize ${this.config.blockSize}`);
    }
    const dHead = this.config.dModel / this.config.numHeads;
    let caches = this.blocks.map(() => createKVCache({ batch: 1, numKvHeads: this.config.numHeads, dHead }));
    let feed: number[] = [...prompt];
    try {
      for (let s = 0; s < steps; s++) {
        const ids = tf.tensor2d([feed], [1, feed.length], 'int32');
        const r = this.forwardCached(ids, caches);
        ids.dispose();
        caches.forEach(disposeKVCache);
        caches = r.caches;
        const token = pickToken(r.logits.dataSync(), rng, options);
        r.logits.dispose();
        out.push(token);
        feed = [token];
      }
    } finally {
      caches.forEach(disposeKVCache);
    }
    return out.slice(prompt.length);
  }
}

/**
 * Random training windows from a token stream: inputs ids[i … i+T−1], targets ids[i+1 … i+T].
 * Returns int32 tensors [batch, T].
 */
export function sampleWindows(ids: Int32Array | readonly number[], batch: number, blockSize: number, rng: Rng): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  if (ids.length <= blockSize + 1) throw new Error(`sampleWindows: text of ${ids.length} tokens is too short for windows of ${blockSize}`);
  const x = new Int32Array(batch * blockSize);
  const y = new Int32Array(batch * blockSize);
  for (let b = 0; b < batch; b++) {
    const start = rng.int(0, ids.length - blockSize - 1);
    for (let t = 0; t < blockSize; t++) {
      x[b * blockSize + t] = ids[start + t]!;
      y[b * blockSize + t] = ids[start + t + 1]!;
    }
  }
  return { inputs: tf.tensor2d(x, [batch, blockSize], 'int32'), targets: tf.tensor2d(y, [batch, blockSize], 'int32') };
}

/**
 * Mean next-token NLL (nats) on held-out ids, over consecutive non-overlapping windows of
 * blockSize (each token predicted from up to blockSize − 1 previous tokens within its window).
 */
export function evaluateLoss(model: GPT, ids: Int32Array | readonly number[], options: { maxWindows?: number; batch?: number } = {}): number {
  const T = model.config.blockSize;
  const starts: number[] = [];
  for (let s = 0; s + T + 1 <= ids.length && starts.length < (options.maxWindows ?? 64); s += T) starts.push(s);
  if (starts.length === 0) throw new Error('evaluateLoss: text too short');
  const batch = options.batch ?? 16;
  let total = 0;
  for (let i = 0; i < starts.length; i += batch) {
    const chunk = starts.slice(i, i + batch);
    const x = new Int32Array(chunk.length * T);
    const y = new Int32Array(chunk.length * T);
    chunk.forEach((s, b) => {
      for (let t = 0; t < T; t++) {
        x[b * T + t] = ids[s + t]!;
        y[b * T + t] = ids[s + t + 1]!;
      }
    });
    const loss = tf.tidy(() => model.loss(tf.tensor2d(x, [chunk.length, T], 'int32'), tf.tensor2d(y, [chunk.length, T], 'int32')));
    total += loss.dataSync()[0]! * chunk.length;
    loss.dispose();
  }
  return total / starts.length;
}
