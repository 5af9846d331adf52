/**
 * Transformer building blocks (Vaswani et al. 2017, "Attention is all you need"): layer norm,
 * the position-wise feed-forward network, encoder and decoder blocks, and a small encoder-decoder
 * Transformer. Attention itself comes from lib/attention (multiHeadAttention). Blocks are
 * pre-norm (x + Sublayer(LN(x)); Xiong et al. 2020), which trains more stably at small sizes than
 * the original post-norm LN(x + Sublayer(x)).
 *
 *   encoder block:  x ← x + SelfAttn(LN(x), padding mask);  x ← x + FFN(LN(x))
 *   decoder block:  y ← y + SelfAttn(LN(y), causal);  y ← y + CrossAttn(LN(y), memory);  y ← y + FFN(LN(y))
 *   FFN(x) = max(0, x W1 + b1) W2 + b2  (GELU in GPT-2; ReLU here as in the original)
 */
import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes.js';
import { matMul2d } from './matmul2d.js';
import { Rng } from '../random.js';
import { initMultiHeadParams, multiHeadAttention, sinusoidalPositions, type MultiHeadVariables } from '../attention/index.js';

export interface LayerNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
}

export interface FeedForwardParams {
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
}

export function initLayerNorm(d: number): LayerNormParams {
  return { gamma: tf.variable(tf.ones([d])), beta: tf.variable(tf.zeros([d])) };
}

/** LN(x) = γ (x − μ) / sqrt(σ² + ε) + β over the last axis (Ba, Kiros & Hinton 2016). */
export function layerNorm(x: tf.Tensor, p: { gamma: tf.Tensor; beta: tf.Tensor }, epsilon = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))), p.gamma), p.beta);
  });
}

export function initFeedForward(dModel: number, dFF: number, seed: number): FeedForwardParams {
  const rng = new Rng(seed);
  const glorot = (a: number, b: number): tf.Variable => {
    const limit = Math.sqrt(6 / (a + b));
    return tf.variable(tf.randomUniform([a, b], -limit, limit, 'float32', rng.childSeed()));
  };
  return { w1: glorot(dModel, dFF), b1: tf.variable(tf.zeros([dFF])), w2: glorot(dFF, dModel), b2: tf.variable(tf.zeros([dModel])) };
}

/** Position-wise FFN on x [..., dModel]. */
export function feedForward(x: tf.Tensor, p: FeedForwardParams, activation: 'relu' | 'gelu' = 'relu'): tf.Tensor {
  return tf.tidy(() => {
    const flat = tf.reshape(x, [-1, x.shape[x.rank - 1]!]);
    const z = tf.add(matMul2d(flat, p.w1), p.b1);
    const h = activation === 'relu' ? tf.relu(z) : gelu(z);
    return tf.reshape(tf.add(matMul2d(h, p.w2), p.b2), x.shape);
  });
}

/** GELU, tanh approximation (Hendrycks & Gimpel 2016), as in GPT-2. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))))))));
}

export interface EncoderBlockParams {
  ln1: LayerNormParams;
  selfAttn: MultiHeadVariables;
  ln2: LayerNormParams;
  ffn: FeedForwardParams;
}

export interface DecoderBlockParams extends EncoderBlockParams {
  lnCross: LayerNormParams;
  crossAttn: MultiHeadVariables;
}

export function initEncoderBlock(dModel: number, numHeads: number, dFF: number, seed: number): EncoderBlockParams {
  return {
    ln1: initLayerNorm(dModel),
    selfAttn: initMultiHeadParams({ dModel, numHeads, seed }),
    ln2: initLayerNorm(dModel),
    ffn: initFeedForward(dModel, dFF, seed + 1),
  };
}

export function initDecoderBlock(dModel: number, numHeads: number, dFF: number, seed: number): DecoderBlockParams {
  return { ...initEncoderBlock(dModel, numHeads, dFF, seed), lnCross: initLayerNorm(dModel), crossAttn: initMultiHeadParams({ dModel, numHeads, seed: seed + 2 }) };
}

/** One encoder block. srcMask [b, 1, 1, n] (1 = real token) keeps attention off padding. Returns output and attention weights. */
export function encoderBlock(x: tf.Tensor, p: EncoderBlockParams, options: { numHeads: number; srcMask?: tf.Tensor | null }): { output: tf.Tensor; weights: tf.Tensor } {
  checkShapes({ x: [x, ['b', 'n', 'd']] });
  return tf.tidy(() => {
    const a = multiHeadAttention(p.selfAttn, layerNorm(x, p.ln1), layerNorm(x, p.ln1), { numHeads: options.numHeads, mask: options.srcMask ?? null });
    const h = tf.add(x, a.output);
    return { output: tf.add(h, feedForward(layerNorm(h, p.ln2), p.ffn)), weights: a.weights };
  });
}

/** One decoder block: causal self-attention, cross attention to `memory`, FFN. Returns output and both attention weights. */
export function decoderBlock(
  y: tf.Tensor,
  memory: tf.Tensor,
  p: DecoderBlockParams,
  options: { numHeads: number; srcMask?: tf.Tensor | null },
): { output: tf.Tensor; selfWeights: tf.Tensor; crossWeights: tf.Tensor } {
  checkShapes({ y: [y, ['b', 'm', 'd']], memory: [memory, ['b', 'n', 'd']] });
  return tf.tidy(() => {
    const yn = layerNorm(y, p.ln1);
    const s = multiHeadAttention(p.selfAttn, yn, yn, { numHeads: options.numHeads, causal: true });
    const h1 = tf.add(y, s.output);
    const c = multiHeadAttention(p.crossAttn, layerNorm(h1, p.lnCross), memory, { numHeads: options.numHeads, mask: options.srcMask ?? null });
    const h2 = tf.add(h1, c.output);
    return { output: tf.add(h2, feedForward(layerNorm(h2, p.ln2), p.ffn)), selfWeights: s.weights, crossWeights: c.weights };
  });
}

export interface TransformerConfig {
  srcVocabSize: number;
  tgtVocabSize: number;
  dModel?: number;
  numHeads?: number;
  numLayers?: number;
  dFF?: number;
  seed?: number;
}

/**
 * A small encoder-decoder Transformer with sinusoidal positions. Token ids use 0 for padding.
 * Same batch format as Seq2Seq: src [B, S], tgtIn / tgtOut [B, T].
 */
export class Transformer {
  readonly config: Required<TransformerConfig>;
  readonly srcEmbed: tf.Variable;
  readonly tgtEmbed: tf.Variable;
  readonly encoder: EncoderBlockParams[];
  readonly decoder: DecoderBlockParams[];
  readonly lnEnc: LayerNormParams;
  readonly lnDec: LayerNormParams;
  readonly outW: tf.Variable;

  constructor(config: TransformerConfig) {
    this.config = { dModel: 64, numHeads: 4, numLayers: 2, dFF: 128, seed: 1, ...config };
    const { srcVocabSize, tgtVocabSize, dModel, numHeads, numLayers, dFF, seed } = this.config;
    this.srcEmbed = tf.variable(tf.randomNormal([srcVocabSize, dModel], 0, 1, 'float32', seed));
    this.tgtEmbed = tf.variable(tf.randomNormal([tgtVocabSize, dModel], 0, 1, 'float32', seed + 1));
    this.encoder = Array.from({ length: numLayers }, (_, i) => initEncoderBlock(dModel, numHeads, dFF, seed + 10 * (i + 1)));
    this.decoder = Array.from({ length: numLayers }, (_, i) => initDecoderBlock(dModel, numHeads, dFF, seed + 10 * (i + 1) + 5));
    this.lnEnc = initLayerNorm(dModel);
    this.lnDec = initLayerNorm(dModel);
    this.outW = tf.variable(tf.randomNormal([dModel, tgtVocabSize], 0, 1 / Math.sqrt(dModel), 'float32', seed + 2));
  }

  get variables(): tf.Variable[] {
    const out: tf.Variable[] = [this.srcEmbed, this.tgtEmbed, this.outW];
    const collect = (o: object): void => {
      for (const v of Object.values(o)) {
        if (v instanceof tf.Variable) out.push(v);
        else if (v && typeof v === 'object') collect(v);
      }
    };
    collect([this.encoder, this.decoder, this.lnEnc, this.lnDec]);
    return out;
  }

  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    tf.dispose(this.variables);
  }

  private embed(ids: tf.Tensor2D, table: tf.Variable): tf.Tensor {
    const d = this.config.dModel;
    // Embeddings scaled by √d so that they are not drowned by the positions (Vaswani et al. §3.4).
    return tf.add(tf.mul(tf.gather(table, ids), Math.sqrt(d)), sinusoidalPositions(ids.shape[1], d));
  }

  /** Encoder output [B, S, d] and the padding mask [B, 1, 1, S]. */
  encode(src: tf.Tensor2D): { memory: tf.Tensor; srcMask: tf.Tensor } {
    return tf.tidy(() => {
      const srcMask = tf.reshape(tf.cast(tf.notEqual(src, 0), 'float32'), [src.shape[0], 1, 1, src.shape[1]]);
      let x = this.embed(src, this.srcEmbed);
      for (const block of this.encoder) x = encoderBlock(x, block, { numHeads: this.config.numHeads, srcMask }).output;
      return { memory: layerNorm(x, this.lnEnc), srcMask };
    });
  }

  /** Logits [B, T, V] for decoder input tgtIn [B, T], and the last layer's cross-attention weights [B, heads, T, S]. */
  forward(src: tf.Tensor2D, tgtIn: tf.Tensor2D): { logits: tf.Tensor3D; crossWeights: tf.Tensor } {
    checkShapes({ src: [src, ['B', 'S']], tgtIn: [tgtIn, ['B', 'T']] });
    return tf.tidy(() => {
      const { memory, srcMask } = this.encode(src);
      let y = this.embed(tgtIn, this.tgtEmbed);
      let crossWeights: tf.Tensor = tf.zeros([1]);
      for (const block of this.decoder) {
        const r = decoderBlock(y, memory, block, { numHeads: this.config.numHeads, srcMask });
        y = r.output;
        crossWeights = r.crossWeights;
      }
      const [B, T] = tgtIn.shape;
      const logits = tf.reshape(matMul2d(tf.reshape(layerNorm(y, this.lnDec), [B * T, -1]), this.outW), [B, T, -1]) as tf.Tensor3D;
      return { logits, crossWeights };
    });
  }

  /** Mean cross-entropy over non-padding target tokens. */
  loss(batch: { src: tf.Tensor2D; tgtIn: tf.Tensor2D; tgtOut: tf.Tensor2D }): tf.Scalar {
    return tf.tidy(() => {
      const V = this.config.tgtVocabSize;
      const { logits } = this.forward(batch.src, batch.tgtIn);
      const flat = tf.reshape(batch.tgtOut, [-1]);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(flat, V), tf.reshape(logits, [-1, V]), tf.cast(tf.notEqual(flat, 0), 'float32')) as tf.Scalar;
    });
  }

  /** Greedy decoding of `steps` tokens after <s>: ids [B, steps]. (Recomputes the prefix each step: simple, fine for short outputs.) */
  greedy(src: tf.Tensor2D, steps: number, bosId: number): tf.Tensor2D {
    return tf.tidy(() => {
      let tokens: tf.Tensor2D = tf.fill([src.shape[0], 1], bosId, 'int32') as tf.Tensor2D;
      for (let t = 0; t < steps; t++) {
        const { logits } = this.forward(src, tokens);
        const last = tf.squeeze(tf.slice(logits, [0, t, 0], [-1, 1, -1]), [1]);
        tokens = tf.concat([tokens, tf.expandDims(tf.cast(tf.argMax(last, 1), 'int32'), 1)], 1) as tf.Tensor2D;
      }
      return tf.slice(tokens, [0, 1], [-1, steps]) as tf.Tensor2D;
    });
  }
}
