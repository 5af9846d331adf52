/**
 * Sequence-to-sequence encoder-decoder (编码器-解码器) with GRU cells (Cho et al. 2014), with or
 * without attention:
 *
 * - 'none': the decoder sees the input only through one fixed context vector c, the encoder's
 *   final states (Sutskever et al. 2014; Cho et al. 2014). Everything about the input must squeeze
 *   through c: the bottleneck.
 * - 'bahdanau': additive attention (Bahdanau, Cho & Bengio 2015, "Neural machine translation by
 *   jointly learning to align and translate"): before each step, score every encoder state h_j
 *   against the previous decoder state s_{t−1} with e_tj = vᵀ tanh(W_q s_{t−1} + W_k h_j),
 *   α_t = softmax(e_t), c_t = Σ_j α_tj h_j, and feed c_t into the GRU.
 * - 'luong-dot' / 'luong-general': multiplicative attention (Luong, Pham & Manning 2015, "Effective
 *   approaches to attention-based neural machine translation"): after the GRU step, score
 *   e_tj = s_tᵀ h_j (dot) or s_tᵀ W_a h_j (general), then h̃_t = tanh(W_c [c_t; s_t]) predicts the
 *   next token and is fed to the next step ("input feeding").
 *
 * The encoder is a bidirectional GRU (both directions run in one batched matmul per step), so
 * each h_j knows the characters on both sides of position j. Every decoding call returns the
 * alignments α [batch, T_out, T_in] (对齐矩阵).
 */
import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes.js';
import type { CharVocab } from '../data/vocab.js';
import { padBatch } from '../data/vocab.js';
import { maskedSoftmax } from '../attention/index.js';
import { matMul2d } from './matmul2d.js';

export type Seq2SeqAttention = 'none' | 'bahdanau' | 'luong-dot' | 'luong-general';

export interface Seq2SeqConfig {
  srcVocabSize: number;
  tgtVocabSize: number;
  attention: Seq2SeqAttention;
  embedSize?: number;
  /** Hidden size of each encoder direction; the decoder's is twice this. */
  hiddenSize?: number;
  /** Size of the additive-attention hidden layer (Bahdanau). */
  attentionSize?: number;
  seed?: number;
}

/** Token-id batches for a seq2seq model: src [B, S], decoder input (<s> + target) and output (target + </s>) [B, T]. */
export interface Seq2SeqBatch {
  src: tf.Tensor2D;
  tgtIn: tf.Tensor2D;
  tgtOut: tf.Tensor2D;
}

/** Encode (input, target) string pairs into padded id tensors. */
export function encodePairs(
  pairs: readonly { input: string; target: string }[],
  srcVocab: CharVocab,
  tgtVocab: CharVocab,
  options: { srcLength?: number; tgtLength?: number } = {},
): Seq2SeqBatch {
  const src = padBatch(pairs.map((p) => srcVocab.encode(p.input)), options.srcLength);
  const tin = padBatch(pairs.map((p) => tgtVocab.encode(p.target, { bos: true })), options.tgtLength);
  const tout = padBatch(pairs.map((p) => tgtVocab.encode(p.target, { eos: true })), options.tgtLength);
  const b = pairs.length;
  return {
    src: tf.tensor2d(src.ids, [b, src.length], 'int32'),
    tgtIn: tf.tensor2d(tin.ids, [b, tin.length], 'int32'),
    tgtOut: tf.tensor2d(tout.ids, [b, tout.length], 'int32'),
  };
}

export function disposeBatch(batch: Seq2SeqBatch): void {
  tf.dispose([batch.src, batch.tgtIn, batch.tgtOut]);
}


let seq2seqCount = 0;

export class Seq2Seq {
  readonly config: Required<Seq2SeqConfig>;
  readonly vars: Record<string, tf.Variable> = {};

  constructor(config: Seq2SeqConfig) {
    this.config = { embedSize: 32, hiddenSize: 64, attentionSize: 64, seed: 1, ...config };
    const { srcVocabSize, tgtVocabSize, embedSize: E, hiddenSize: H, attentionSize: A, attention, seed } = this.config;
    const D = 2 * H; // decoder hidden size = size of an encoder state [fwd; bwd]
    let s = seed;
    const modelCount = ++seq2seqCount; // unique variable names per model
    const glorot = (shape: number[], fanIn: number, fanOut: number): tf.Tensor => {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return tf.randomUniform(shape, -limit, limit, 'float32', s++);
    };
    const v = (name: string, t: tf.Tensor): void => {
      this.vars[name] = tf.variable(t, true, `seq2seq${modelCount}/${name}`);
    };
    v('srcEmbed', tf.randomNormal([srcVocabSize, E], 0, 0.1, 'float32', s++));
    v('tgtEmbed', tf.randomNormal([tgtVocabSize, E], 0, 0.1, 'float32', s++));
    // Encoder GRU, both directions stacked on axis 0: gates [r, z, n].
    // Encoder GRU, both directions side by side: the state is [h→ | h←] of size 2H and the
    // recurrent weight is block-diagonal, so one plain 2-D matmul per step serves both
    // directions (batched matmuls are slow on the wasm backend). Gates [r, z, n].
    v('encWxF', glorot([E, 3 * H], E, 3 * H));
    v('encWxB', glorot([E, 3 * H], E, 3 * H));
    v('encWhF', glorot([H, 3 * H], H, 3 * H));
    v('encWhB', glorot([H, 3 * H], H, 3 * H));
    v('encBx', tf.zeros([6 * H]));
    v('encBh', tf.zeros([6 * H]));
    v('initW', glorot([D, D], D, D));
    v('initB', tf.zeros([D]));
    // Decoder GRU: input is [embedding; context-or-h̃].
    v('decWx', glorot([E + D, 3 * D], E + D, 3 * D));
    v('decWh', glorot([D, 3 * D], D, 3 * D));
    v('decBx', tf.zeros([3 * D]));
    v('decBh', tf.zeros([3 * D]));
    if (attention === 'bahdanau') {
      v('attWq', glorot([D, A], D, A));
      v('attWk', glorot([D, A], D, A));
      v('attV', glorot([A, 1], A, 1));
    }
    if (attention === 'luong-general') v('attWa', glorot([D, D], D, D));
    if (attention.startsWith('luong')) v('attWc', glorot([2 * D, D], 2 * D, D));
    const outIn = attention.startsWith('luong') ? D : 2 * D;
    v('outW', glorot([outIn, tgtVocabSize], outIn, tgtVocabSize));
    v('outB', tf.zeros([tgtVocabSize]));
  }

  get variables(): tf.Variable[] {
    return Object.values(this.vars);
  }

  get parameterCount(): number {
    return this.variables.reduce((n, t) => n + t.size, 0);
  }

  dispose(): void {
    tf.dispose(this.variables);
  }

  /**
   * Bidirectional GRU over src [B, S]. Returns the encoder states [B, S, 2H] (forward and
   * backward concatenated), the initial decoder state [B, 2H], the fixed summary c = [h→_S; h←_1]
   * and the padding mask [B, S] (1 = real token).
   */
  encode(src: tf.Tensor2D): { states: tf.Tensor3D; init: tf.Tensor2D; summary: tf.Tensor2D; mask: tf.Tensor2D } {
    checkShapes({ src: [src, ['B', 'S']] });
    const H = this.config.hiddenSize;
    const [B, S] = src.shape;
    const mask = tf.cast(tf.notEqual(src, 0), 'float32') as tf.Tensor2D;
    const emb = tf.reshape(tf.gather(this.vars.srcEmbed!, src), [B * S, -1]); // [B·S, E]
    const embRev = tf.reshape(tf.reverse(tf.reshape(emb, [B, S, -1]), 1), [B * S, -1]);
    // Gate-major layout [r→ r← | z→ z← | n→ n←], so that each gate lines up with h = [h→ | h←].
    const gateMajor = (fwd: tf.Tensor, bwd: tf.Tensor, rows: number[]): tf.Tensor => {
      const f = tf.split(fwd, 3, -1);
      const b = tf.split(bwd, 3, -1);
      return tf.reshape(tf.concat([f[0]!, b[0]!, f[1]!, b[1]!, f[2]!, b[2]!], -1), [...rows, 6 * H]);
    };
    const xProj = tf.add(gateMajor(matMul2d(emb, this.vars.encWxF!), matMul2d(embRev, this.vars.encWxB!), [B, S]), this.vars.encBx!);
    const zerosHH = tf.zeros([H, 3 * H]);
    const whBlock = gateMajor(tf.concat([this.vars.encWhF!, zerosHH], 0), tf.concat([zerosHH, this.vars.encWhB!], 0), [2 * H]); // [2H, 6H]
    // Time-major, so that each step's slice is contiguous.
    const xSteps = tf.unstack(tf.transpose(xProj, [1, 0, 2])); // S × [B, 6H]
    const maskBoth = tf.concat([tf.tile(tf.expandDims(mask, 2), [1, 1, H]), tf.tile(tf.expandDims(tf.reverse(mask, 1), 2), [1, 1, H])], 2); // [B, S, 2H]
    const mSteps = tf.unstack(tf.transpose(maskBoth, [1, 0, 2])); // S × [B, 2H]
    let h: tf.Tensor = tf.zeros([B, 2 * H]);
    const outs: tf.Tensor[] = [];
    for (let t = 0; t < S; t++) {
      const hProj = tf.add(matMul2d(h, whBlock), this.vars.encBh!);
      const [xr, xz, xn] = tf.split(xSteps[t]!, 3, 1) as tf.Tensor[];
      const [hr, hz, hn] = tf.split(hProj, 3, 1) as tf.Tensor[];
      const r = tf.sigmoid(tf.add(xr!, hr!));
      const z = tf.sigmoid(tf.add(xz!, hz!));
      const n = tf.tanh(tf.add(xn!, tf.mul(r, hn!)));
      const hNew = tf.add(n, tf.mul(z, tf.sub(h, n))); // (1 − z)·n + z·h
      h = tf.add(h, tf.mul(mSteps[t]!, tf.sub(hNew, h))); // padding leaves the state unchanged
      outs.push(h);
    }
    const all = tf.stack(outs, 1); // [B, S, 2H]; the backward half is in reversed time
    const fwd = tf.slice(all, [0, 0, 0], [-1, -1, H]);
    const bwd = tf.reverse(tf.slice(all, [0, 0, H], [-1, -1, H]), 1);
    const states = tf.concat([fwd, bwd], 2) as tf.Tensor3D;
    const summary = h as tf.Tensor2D; // [h→ after the last real token | h← after the first]
    const init = tf.tanh(tf.add(matMul2d(summary, this.vars.initW!), this.vars.initB!)) as tf.Tensor2D;
    return { states, init, summary, mask };
  }

  private gru(x: tf.Tensor, h: tf.Tensor): tf.Tensor {
    const xProj = tf.add(matMul2d(x, this.vars.decWx!), this.vars.decBx!);
    const hProj = tf.add(matMul2d(h, this.vars.decWh!), this.vars.decBh!);
    const [xr, xz, xn] = tf.split(xProj, 3, 1) as tf.Tensor[];
    const [hr, hz, hn] = tf.split(hProj, 3, 1) as tf.Tensor[];
    const r = tf.sigmoid(tf.add(xr!, hr!));
    const z = tf.sigmoid(tf.add(xz!, hz!));
    const n = tf.tanh(tf.add(xn!, tf.mul(r, hn!)));
    return tf.add(n, tf.mul(z, tf.sub(h, n)));
  }

  /**
   * Run the decoder over the given previous tokens (teacher forcing) or, when `next` is given, over
   * tokens chosen step by step. Returns logits [B, T, V] and alignments [B, T, S] (zeros for 'none').
   */
  private decode(
    enc: { states: tf.Tensor3D; init: tf.Tensor2D; summary: tf.Tensor2D; mask: tf.Tensor2D },
    steps: number,
    firstTokens: tf.Tensor1D,
    teacher: tf.Tensor2D | null,
  ): { logits: tf.Tensor3D; alignments: tf.Tensor3D; tokens: tf.Tensor2D } {
    const { attention } = this.config;
    const { states, mask } = enc;
    const [B, S, D] = states.shape;
    // Keys that do not change during decoding are computed once.
    const keys =
      attention === 'bahdanau'
        ? tf.reshape(matMul2d(tf.reshape(states, [B * S, D]), this.vars.attWk!), [B, S, -1]) // W_k h_j
        : attention === 'luong-general'
          ? tf.reshape(matMul2d(tf.reshape(states, [B * S, D]), tf.transpose(this.vars.attWa!)), [B, S, D]) // W_aᵀ h_j, so s·(W_a h) = s·keys
          : states;
    const teacherSteps = teacher ? tf.unstack(tf.transpose(teacher)) : null;
    let s: tf.Tensor = enc.init;
    let prev: tf.Tensor = firstTokens;
    let feed: tf.Tensor = tf.zeros([B, D]); // h̃_{t−1} for Luong's input feeding
    const outputs: tf.Tensor[] = [];
    const alphas: tf.Tensor[] = [];
    const tokens: tf.Tensor[] = [];
    const attend = (query: tf.Tensor): { alpha: tf.Tensor; context: tf.Tensor } => {
      let scores: tf.Tensor;
      if (attention === 'bahdanau') {
        const q = tf.expandDims(matMul2d(query, this.vars.attWq!), 1); // [B, 1, A]
        scores = tf.reshape(matMul2d(tf.reshape(tf.tanh(tf.add(keys, q)), [B * S, -1]), this.vars.attV!), [B, S]);
      } else {
        scores = tf.sum(tf.mul(keys, tf.expandDims(query, 1)), 2); // [B, S]: s · h_j (elementwise + sum: batched matmuls are slow on wasm)
      }
      const alpha = maskedSoftmax(scores, mask); // padding positions get weight 0
      const context = tf.sum(tf.mul(tf.expandDims(alpha, 2), states), 1); // [B, D] = Σ_j α_j h_j
      return { alpha, context };
    };
    for (let t = 0; t < steps; t++) {
      const emb = tf.gather(this.vars.tgtEmbed!, prev as tf.Tensor1D);
      let out: tf.Tensor;
      if (attention === 'none') {
        s = this.gru(tf.concat([emb, enc.summary], 1), s);
        out = tf.concat([s, enc.summary], 1);
        alphas.push(tf.zeros([B, S]));
      } else if (attention === 'bahdanau') {
        const { alpha, context } = attend(s);
        s = this.gru(tf.concat([emb, context], 1), s);
        out = tf.concat([s, context], 1);
        alphas.push(alpha);
      } else {
        s = this.gru(tf.concat([emb, feed], 1), s);
        const { alpha, context } = attend(s);
        feed = tf.tanh(matMul2d(tf.concat([context, s], 1), this.vars.attWc!));
        out = feed;
        alphas.push(alpha);
      }
      const logits = tf.add(matMul2d(out, this.vars.outW!), this.vars.outB!);
      outputs.push(logits);
      const chosen = tf.cast(tf.argMax(logits, 1), 'int32');
      tokens.push(chosen);
      prev = teacherSteps && t + 1 < steps ? teacherSteps[t + 1]! : chosen;
    }
    return { logits: tf.stack(outputs, 1) as tf.Tensor3D, alignments: tf.stack(alphas, 1) as tf.Tensor3D, tokens: tf.stack(tokens, 1) as tf.Tensor2D };
  }

  /** Logits [B, T, V] and alignments [B, T, S] with teacher forcing on tgtIn [B, T]. */
  forward(src: tf.Tensor2D, tgtIn: tf.Tensor2D): { logits: tf.Tensor3D; alignments: tf.Tensor3D } {
    checkShapes({ src: [src, ['B', 'S']], tgtIn: [tgtIn, ['B', 'T']] });
    return tf.tidy(() => {
      const enc = this.encode(src);
      const first = tf.squeeze(tf.slice(tgtIn, [0, 0], [-1, 1]), [1]) as tf.Tensor1D;
      const { logits, alignments } = this.decode(enc, tgtIn.shape[1], first, tgtIn);
      return { logits, alignments };
    });
  }

  /** Mean cross-entropy over the non-padding target tokens. */
  loss(batch: Seq2SeqBatch): tf.Scalar {
    return tf.tidy(() => {
      const { logits } = this.forward(batch.src, batch.tgtIn);
      const V = this.config.tgtVocabSize;
      const labels = tf.oneHot(tf.reshape(batch.tgtOut, [-1]), V);
      const weights = tf.cast(tf.notEqual(tf.reshape(batch.tgtOut, [-1]), 0), 'float32');
      return tf.losses.softmaxCrossEntropy(labels, tf.reshape(logits, [-1, V]), weights) as tf.Scalar;
    });
  }

  /** Greedy decoding of `steps` tokens after <s> (id `bosId`): token ids [B, steps] and alignments [B, steps, S]. */
  greedy(src: tf.Tensor2D, steps: number, bosId: number): { tokens: tf.Tensor2D; alignments: tf.Tensor3D } {
    checkShapes({ src: [src, ['B', 'S']] });
    return tf.tidy(() => {
      const enc = this.encode(src);
      const first = tf.fill([src.shape[0]], bosId, 'int32') as tf.Tensor1D;
      const { tokens, alignments } = this.decode(enc, steps, first, null);
      return { tokens, alignments };
    });
  }

  /** Translate strings: greedy decoding, decoded to text (stops at </s>), with alignments as arrays. */
  translate(
    inputs: readonly string[],
    srcVocab: CharVocab,
    tgtVocab: CharVocab,
    maxSteps: number,
    options: { batchSize?: number; withAlignments?: boolean } = {},
  ): { outputs: string[]; alignments: number[][][] } {
    const batchSize = options.batchSize ?? 256;
    const outputs: string[] = [];
    const alignments: number[][][] = [];
    for (let i = 0; i < inputs.length; i += batchSize) {
      const chunk = inputs.slice(i, i + batchSize);
      const { ids, length } = padBatch(chunk.map((s) => srcVocab.encode(s)));
      const src = tf.tensor2d(ids, [chunk.length, length], 'int32');
      const { tokens, alignments: al } = this.greedy(src, maxSteps, tgtVocab.bosId);
      const rows = tokens.arraySync();
      rows.forEach((r) => outputs.push(tgtVocab.decode(r)));
      if (options.withAlignments) (al.arraySync() as number[][][]).forEach((a) => alignments.push(a));
      tf.dispose([src, tokens, al]);
    }
    return { outputs, alignments };
  }
}
