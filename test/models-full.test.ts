/**
 * Full-strength checks of the lessons' headline results, training from scratch on the wasm
 * backend (each test is sized to take about 3 minutes or less on an idle 2-core machine; no
 * speed is asserted):
 *
 * - date normalisation with Bahdanau attention: ≥ 99% exact match on 1,000 held-out dates;
 * - without attention, exact match on copying random strings (4–16 symbols) falls with length;
 *   with (Luong general) attention it stays high;
 * - the tiny GPT ends well below the unigram and bigram baselines on held-out generated text, and
 *   KV-cache sampling gives exactly the tokens of recomputation.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend, makeDateSplits, dateVocabularies, Seq2Seq, fitSeq2Seq, evaluateSeq2Seq, attentionMassOnSpans,
  makeSequenceExamples, copyTask, CharVocab, makeStorySplits, NGramLM, GPT, fitGPT, evaluateLoss,
} from '../lib/index.js';

before(async () => {
  await initBackend({ prefer: 'wasm', verbose: false });
});

describe('full-strength lesson results', { concurrency: false }, () => {
  it('dates with Bahdanau attention: ≥ 99% exact match on 1,000 held-out dates; attention on the month field', async () => {
    const dates = makeDateSplits({ train: 30000, validation: 300, test: 1000, seed: 1 });
    const { source, target } = dateVocabularies();
    const model = new Seq2Seq({ srcVocabSize: source.size, tgtVocabSize: target.size, attention: 'bahdanau', embedSize: 32, hiddenSize: 32, attentionSize: 32, seed: 1 });
    const history = await fitSeq2Seq(model, dates.train, {
      srcVocab: source, tgtVocab: target, steps: 800, batchSize: 64, learningRate: 5e-3, maxOutput: 11,
      label: 'dates/bahdanau', validation: dates.validation, evalEvery: 150, targetAccuracy: 0.999, logEvery: 100,
    });
    const ev = evaluateSeq2Seq(model, dates.test, { srcVocab: source, tgtVocab: target, maxOutput: 11 });
    const align = model.translate(dates.test.map((e) => e.input), source, target, 11, { withAlignments: true }).alignments;
    const month = attentionMassOnSpans(align, dates.test.map((e) => e.spans.month), [5, 7]);
    const monthShare = dates.test.reduce((s, e) => s + (e.spans.month[1] - e.spans.month[0]) / e.input.length, 0) / dates.test.length;
    console.log(`dates: exact match ${ev.exactMatch} after ${history.steps} steps in ${history.seconds.toFixed(0)} s; month attention ${month.toFixed(3)} (field share ${monthShare.toFixed(3)})`);
    assert.ok(ev.exactMatch >= 0.99, `exact match ${ev.exactMatch}`);
    assert.ok(month >= 0.5 && month >= 2 * monthShare, `month attention ${month} vs share ${monthShare}`);
    model.dispose();
  });

  it('copying random strings of 4–16 symbols: without attention exact match falls with length, with Luong attention it stays high', async () => {
    const train = makeSequenceExamples(copyTask, 20000, { minLength: 4, maxLength: 16, seed: 1 });
    const test = makeSequenceExamples(copyTask, 400, { minLength: 4, maxLength: 16, seed: 2 });
    const vocab = new CharVocab([...'abcdefghij0123456789']);
    const results: Record<string, { key: number; accuracy: number }[]> = {};
    for (const attention of ['none', 'luong-general'] as const) {
      const model = new Seq2Seq({ srcVocabSize: vocab.size, tgtVocabSize: vocab.size, attention, embedSize: 32, hiddenSize: 32, attentionSize: 32, seed: 1 });
      await fitSeq2Seq(model, train, { srcVocab: vocab, tgtVocab: vocab, steps: 400, batchSize: 64, learningRate: 5e-3, maxOutput: 17, label: `copy/${attention}`, logEvery: 100 });
      results[attention] = evaluateSeq2Seq(model, test, { srcVocab: vocab, tgtVocab: vocab, maxOutput: 17, bucketSize: 5 }).byLength;
      model.dispose();
    }
    const fmt = (r: { key: number; accuracy: number }[]) => r.map((b) => `${b.key}:${b.accuracy.toFixed(2)}`).join(' ');
    console.log(`copy exact match by length: none ${fmt(results.none!)} | luong-general ${fmt(results['luong-general']!)}`);
    const none = results.none!;
    const attn = results['luong-general']!;
    assert.deepEqual(none.map((b) => b.key), [0, 5, 10, 15]);
    assert.ok(none[0]!.accuracy >= 0.8, `without attention, short strings are copied: ${fmt(none)}`);
    assert.ok(none[2]!.accuracy <= 0.2 && none[3]!.accuracy <= 0.1, `without attention, long strings are not: ${fmt(none)}`);
    assert.ok(Math.min(...attn.map((b) => b.accuracy)) >= 0.85, `with attention every length bucket ≥ 0.85, got ${fmt(attn)}`);
  });

  it('GPT: held-out loss ≥ 0.5 nats/char below the bigram baseline; KV-cache sampling identical', async () => {
    const corpus = makeStorySplits({ trainChars: 300000, testChars: 20000, seed: 1 });
    const vocab = new CharVocab([...new Set(corpus.train + corpus.test)].sort());
    const chars = vocab.tokens.slice(4);
    const unigram = new NGramLM(1, corpus.train, 0.01, chars).crossEntropy(corpus.test);
    const bigram = new NGramLM(2, corpus.train, 0.01, chars).crossEntropy(corpus.test);
    const gpt = new GPT({ vocabSize: vocab.size, blockSize: 96, dModel: 64, numHeads: 4, numLayers: 2, seed: 1 });
    const h = await fitGPT(gpt, Int32Array.from(vocab.encode(corpus.train)), { steps: 300, batchSize: 8, learningRate: 3e-3, seed: 1, logEvery: 100 });
    const loss = evaluateLoss(gpt, Int32Array.from(vocab.encode(corpus.test)), { maxWindows: 128 });
    console.log(`GPT: test ${loss.toFixed(3)} nats/char vs bigram ${bigram.toFixed(3)}, unigram ${unigram.toFixed(3)} (${h.steps} steps, ${h.seconds.toFixed(0)} s)`);
    assert.ok(loss <= bigram - 0.5, `GPT ${loss} vs bigram ${bigram}`);
    assert.ok(loss <= unigram - 1.4, `GPT ${loss} vs unigram ${unigram}`);
    const prompt = vocab.encode('nora lives in ');
    const before = tf.memory().numTensors;
    for (const seed of [1, 2, 3]) {
      const a = gpt.generate(prompt, { steps: 80, temperature: 0.8, topK: 10, seed, useCache: false });
      const b = gpt.generate(prompt, { steps: 80, temperature: 0.8, topK: 10, seed, useCache: true });
      assert.deepEqual(b, a, `seed ${seed}`);
    }
    assert.equal(tf.memory().numTensors, before, 'generation leaks no tensors');
    gpt.dispose();
  });
});
