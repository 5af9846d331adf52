/**
 * lib/models: each model against an independent reference (truth tables, automatic
 * differentiation, counts done here, lib/attention's multi-head attention, recomputation without
 * a cache), plus the lesson-05 gradient measurements at full strength (they are cheap).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend, Rng, LOGIC_GATES, trainPerceptron, perceptronAccuracy, initMlp, mlpBackward, trainMlp, mlpPredict, disposeMlp,
  ANIMALS, ANIMAL_RULES, classifyWithRules, makeAnimalSightings, encodeFacts, trainSoftmaxRegression, softmaxRegressionPredict, ANIMAL_CLASSES,
  NGramLM, NaiveBayes, makeSpamMessages, tokenizeWords,
  initRnn, initLstm, rnnForward, lstmForward, gradientNormsPerStep, firstToLastRatio,
  Seq2Seq, encodePairs, disposeBatch, CharVocab, dateVocabularies, makeDateSplits,
  GPT, pickToken, causalSelfAttention, Transformer, layerNorm, multiHeadAttention, initMultiHeadParams, trainStep, adam,
} from '../lib/index.js';
import { matMul2d } from '../lib/models/matmul2d.js';
import { assertClose, assertNoLeaks } from './helpers/kit.js';

before(async () => {
  await initBackend({ prefer: 'wasm', verbose: false });
});

describe('perceptron (Rosenblatt 1958)', () => {
  for (const gate of ['AND', 'OR', 'NAND'] as const) {
    it(`learns ${gate} exactly and converges`, () => {
      const { inputs, targets } = LOGIC_GATES[gate];
      for (const seed of [1, 2, 3]) {
        const run = trainPerceptron(inputs, targets, { seed });
        assert.equal(run.converged, true);
        assert.equal(perceptronAccuracy(run.model, inputs, targets), 1);
      }
    });
  }
  it('cannot learn XOR: never converges, at most 3 of 4 right', () => {
    const { inputs, targets } = LOGIC_GATES.XOR;
    for (const seed of [1, 2, 3, 4, 5]) {
      const run = trainPerceptron(inputs, targets, { seed, epochs: 200 });
      assert.equal(run.converged, false);
      assert.ok(perceptronAccuracy(run.model, inputs, targets) <= 0.75);
      assert.ok(run.mistakesPerEpoch.every((m) => m > 0));
    }
  });
});

describe('MLP with backpropagation', () => {
  it('hand-written gradients equal automatic differentiation (atol 1e-5)', async () => {
    const p = initMlp({ inputs: 3, hidden: 5, outputs: 2, seed: 4 });
    const x = tf.randomNormal([7, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const y = tf.cast(tf.greater(tf.randomUniform([7, 2], 0, 1, 'float32', 2), 0.5), 'float32') as tf.Tensor2D;
    await assertNoLeaks(() => {
      const { loss, grads } = mlpBackward(p, x, y);
      const auto = tf.grads((w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
        const h = tf.tanh(tf.add(tf.matMul(x, w1 as tf.Tensor2D), b1));
        const q = tf.sigmoid(tf.add(tf.matMul(h, w2 as tf.Tensor2D), b2));
        return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(q)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, q))))));
      });
      const [g1, gb1, g2, gb2] = auto([p.w1, p.b1, p.w2, p.b2]);
      assertClose(grads.w1.dataSync(), g1!.dataSync(), 1e-5, 1e-4, 'dW1');
      assertClose(grads.b1.dataSync(), gb1!.dataSync(), 1e-5, 1e-4, 'db1');
      assertClose(grads.w2.dataSync(), g2!.dataSync(), 1e-5, 1e-4, 'dW2');
      assertClose(grads.b2.dataSync(), gb2!.dataSync(), 1e-5, 1e-4, 'db2');
      tf.dispose([loss, Object.values(grads), g1!, gb1!, g2!, gb2!]);
    });
    disposeMlp(p);
    tf.dispose([x, y]);
  });
  it('solves XOR (4/4) without leaking tensors', async () => {
    const p = initMlp({ inputs: 2, hidden: 4, outputs: 1, seed: 3 });
    const { inputs, targets } = LOGIC_GATES.XOR;
    await assertNoLeaks(() => {
      const run = trainMlp(p, inputs, targets.map((t) => [t]), { steps: 2000, learningRate: 0.5 });
      assert.deepEqual(mlpPredict(run.params, inputs).map((r) => r[0]), targets);
      assert.ok(run.losses[run.losses.length - 1]! < 0.05);
      disposeMlp(run.params);
    });
    disposeMlp(p);
  });
  it('matMul2d: same value and gradients as tf.matMul', () => {
    const a = tf.randomNormal([5, 4], 0, 1, 'float32', 1);
    const b = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const f = (mm: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(mm(x, y))))([a, b]);
    const [ga, gb] = f((x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D));
    const [ha, hb] = f(matMul2d);
    assertClose(ha!.dataSync(), ga!.dataSync(), 1e-4, 1e-5);
    assertClose(hb!.dataSync(), gb!.dataSync(), 1e-4, 1e-5);
    tf.dispose([a, b, ga!, gb!, ha!, hb!]);
  });
});

describe('symbolic rules vs a learned classifier', () => {
  it('the rules are right on every clean prototype and explain themselves', () => {
    for (const a of ANIMALS) {
      const r = classifyWithRules(ANIMAL_RULES, a.facts);
      assert.equal(r.label, a.label, a.name);
      assert.ok(r.rule);
    }
    assert.deepEqual(classifyWithRules(ANIMAL_RULES, {}), { label: 'unknown', rule: null });
  });
  it('on noisy sightings the learned classifier beats the rules by ≥ 10 points', () => {
    const train = makeAnimalSightings(1500, { seed: 1 });
    const test = makeAnimalSightings(1000, { seed: 2 });
    const idx = (l: string) => (ANIMAL_CLASSES as readonly string[]).indexOf(l);
    const model = trainSoftmaxRegression(train.map((s) => encodeFacts(s.facts)), train.map((s) => idx(s.label)), 4, { steps: 300, seed: 1 });
    const learned = test.filter((s) => ANIMAL_CLASSES[softmaxRegressionPredict(model, encodeFacts(s.facts))] === s.label).length / test.length;
    const rules = test.filter((s) => classifyWithRules(ANIMAL_RULES, s.facts).label === s.label).length / test.length;
    assert.ok(learned > 0.9, `learned ${learned}`);
    assert.ok(learned - rules >= 0.1, `learned ${learned} vs rules ${rules}`);
  });
});

describe('n-gram language model', () => {
  it('probabilities are add-k smoothed counts and sum to 1', () => {
    const text = 'abab abba';
    const lm = new NGramLM(2, text, 0.5);
    const V = lm.vocabulary.length; // a, b, ' '
    assert.equal(V, 3);
    // after 'a': 'b' ×3 (ab, ab, ab), ' ' ×0, 'a' ×0 → (3 + .5) / (3 + 1.5)
    assertClose([lm.prob('b', 'xa')], [3.5 / 4.5], 1e-12);
    const total = lm.vocabulary.reduce((s, c) => s + lm.prob(c, 'b'), 0);
    assertClose([total], [1], 1e-12);
    const uni = new NGramLM(1, text, 0);
    assertClose([uni.prob('a', '')], [4 / 9], 1e-12);
    assertClose([uni.crossEntropy('ab')], [-(Math.log(4 / 9) + Math.log(4 / 9)) / 2], 1e-12);
  });
});

describe('naive Bayes', () => {
  it('log-scores match hand-computed Laplace-smoothed counts', () => {
    const nb = new NaiveBayes(1).fit([['win', 'cash'], ['win'], ['hi', 'mum']], ['spam', 'spam', 'ham']);
    // vocabulary {win, cash, hi, mum}; spam words 3, ham words 2
    const s = nb.scores(['win', 'hi']);
    assertClose([s.spam!], [Math.log(2 / 3) + Math.log(3 / 7) + Math.log(1 / 7)], 1e-12);
    assertClose([s.ham!], [Math.log(1 / 3) + Math.log(1 / 6) + Math.log(2 / 6)], 1e-12);
    assert.equal(nb.predict(['cash']), 'spam');
  });
  it('spam filter: ≥ 95% accuracy on 1,000 held-out generated messages', () => {
    const m = makeSpamMessages(6000, { seed: 1 });
    const test = m.slice(0, 1000);
    const train = m.slice(1000);
    const nb = new NaiveBayes(1).fit(train.map((x) => tokenizeWords(x.text)), train.map((x) => x.label));
    const acc = test.filter((x) => nb.predict(tokenizeWords(x.text)) === x.label).length / test.length;
    assert.ok(acc >= 0.95, `accuracy ${acc}`);
    // and the data is not trivial: 30 training messages are clearly not enough
    const small = new NaiveBayes(1).fit(train.slice(0, 30).map((x) => tokenizeWords(x.text)), train.slice(0, 30).map((x) => x.label));
    const smallAcc = test.filter((x) => small.predict(tokenizeWords(x.text)) === x.label).length / test.length;
    assert.ok(smallAcc < 0.92, `30-message accuracy ${smallAcc}`);
  });
});

describe('RNN and LSTM gradients per time step (T = 50)', () => {
  const T = 50;
  const probe = () => tf.randomNormal([16, T, 8], 0, 1, 'float32', 3) as tf.Tensor3D;
  const readout = () => tf.randomNormal([32], 0, 1, 'float32', 4) as tf.Tensor1D;
  it('forward passes match a step-by-step reference in plain arithmetic', () => {
    const p = initRnn({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = tf.randomNormal([1, 4, 2], 0, 1, 'float32', 9) as tf.Tensor3D;
    const states = rnnForward(p, x).arraySync()[0]!;
    const [wx, wh, xs] = [p.wx.arraySync(), p.wh.arraySync(), x.arraySync()[0]!];
    let h = [0, 0, 0];
    xs.forEach((xt, t) => {
      h = h.map((_, j) => Math.tanh(xt.reduce((s, v, i) => s + v * wx[i]![j]!, 0) + h.reduce((s, v, i) => s + v * wh[i]![j]!, 0)));
      assertClose(states[t]!, h, 1e-5);
    });
    tf.dispose([p.wx, p.wh, p.b, x]);
  });
  it('vanishing: tanh RNN ratio ‖∂L/∂x_1‖/‖∂L/∂x_50‖ ≤ 1/100; exploding (scale 4) ≥ 100; LSTM (forget bias 2) within [0.1, 10]', async () => {
    const x = probe();
    const r = readout();
    await assertNoLeaks(() => {
      const vanish = initRnn({ inputSize: 8, hiddenSize: 32, recurrentScale: 1, seed: 5 });
      const explode = initRnn({ inputSize: 8, hiddenSize: 32, recurrentScale: 4, seed: 5 });
      const lstm = initLstm({ inputSize: 8, hiddenSize: 32, forgetBias: 2, seed: 5 });
      const nv = gradientNormsPerStep((z) => rnnForward(vanish, z), x, r);
      const ne = gradientNormsPerStep((z) => rnnForward(explode, z), x, r);
      const nl = gradientNormsPerStep((z) => lstmForward(lstm, z), x, r);
      assert.equal(nv.length, T);
      assert.ok(firstToLastRatio(nv) <= 0.01, `vanishing ratio ${firstToLastRatio(nv)}`);
      assert.ok(firstToLastRatio(ne) >= 100, `exploding ratio ${firstToLastRatio(ne)}`);
      const rl = firstToLastRatio(nl);
      assert.ok(rl >= 0.1 && rl <= 10, `LSTM ratio ${rl}`);
      assert.ok(Math.abs(Math.log10(rl)) < Math.abs(Math.log10(firstToLastRatio(nv))) - 2, 'LSTM much closer to 1 than the RNN');
      tf.dispose([Object.values(vanish), Object.values(explode), Object.values(lstm)]);
    });
    tf.dispose([x, r]);
  });
  it('gradientNormsPerStep agrees with finite differences of the loss', () => {
    const p = initRnn({ inputSize: 2, hiddenSize: 4, seed: 2 });
    const x = tf.randomNormal([1, 5, 2], 0, 1, 'float32', 3) as tf.Tensor3D;
    const r = tf.tensor1d([1, -1, 0.5, 2]);
    const norms = gradientNormsPerStep((z) => rnnForward(p, z), x, r);
    const lossAt = (xs: number[][]) => tf.tidy(() => tf.sum(tf.mul(tf.slice(rnnForward(p, tf.tensor3d([xs])), [0, 4, 0], [1, 1, 4]), r)).dataSync()[0]!);
    const base = x.arraySync()[0]!;
    const eps = 1e-2;
    for (let t = 0; t < 5; t++) {
      const g = [0, 1].map((i) => {
        const plus = base.map((row) => [...row]);
        const minus = base.map((row) => [...row]);
        plus[t]![i]! += eps;
        minus[t]![i]! -= eps;
        return (lossAt(plus) - lossAt(minus)) / (2 * eps);
      });
      assertClose([norms[t]!], [Math.hypot(...g)], 2e-3, 2e-2, `step ${t}`);
    }
    tf.dispose([p.wx, p.wh, p.b, x, r]);
  });
});

describe('Seq2Seq', () => {
  const { source, target } = dateVocabularies();
  const pairs = makeDateSplits({ train: 6, validation: 1, test: 1, seed: 2 }).train;
  for (const attention of ['none', 'bahdanau', 'luong-dot', 'luong-general'] as const) {
    it(`${attention}: logits [B, T, V], alignments sum to 1 over real tokens and 0 on padding, no leaks`, async () => {
      const model = new Seq2Seq({ srcVocabSize: source.size, tgtVocabSize: target.size, attention, hiddenSize: 8, embedSize: 8, attentionSize: 8, seed: 3 });
      const batch = encodePairs(pairs, source, target);
      await assertNoLeaks(() => {
        const { logits, alignments } = model.forward(batch.src, batch.tgtIn);
        assert.deepEqual(logits.shape, [6, 11, target.size]);
        assert.deepEqual(alignments.shape, [6, 11, batch.src.shape[1]]);
        if (attention !== 'none') {
          const a = alignments.arraySync();
          pairs.forEach((p, b) => {
            for (const row of a[b]!) {
              assertClose([row.slice(0, p.input.length).reduce((s, v) => s + v, 0)], [1], 1e-5);
              assertClose(row.slice(p.input.length), row.slice(p.input.length).map(() => 0), 1e-7);
            }
          });
        }
        tf.dispose([logits, alignments]);
      });
      // padding does not change a sequence's result: run the first pair alone, unpadded
      const alone = encodePairs(pairs.slice(0, 1), source, target);
      const l1 = tf.tidy(() => model.forward(alone.src, alone.tgtIn).logits.arraySync()[0]!);
      const l2 = tf.tidy(() => model.forward(batch.src, batch.tgtIn).logits.arraySync()[0]!);
      assertClose(l1.flat(), l2.flat(), 1e-4, 1e-4, 'logits with and without padding');
      // one training step lowers the loss and leaks nothing
      const opt = adam(1e-2);
      const first = trainStep(opt, () => model.loss(batch), { vars: model.variables }).loss;
      await assertNoLeaks(() => {
        for (let i = 0; i < 5; i++) trainStep(opt, () => model.loss(batch), { clipNorm: 1, vars: model.variables });
      });
      const after = tf.tidy(() => model.loss(batch).dataSync()[0]!);
      assert.ok(after < first, `loss ${first} → ${after}`);
      opt.dispose();
      disposeBatch(batch);
      disposeBatch(alone);
      model.dispose();
    });
  }
});

describe('Transformer and GPT', () => {
  it('layerNorm normalises the last axis', () => {
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const y = layerNorm(x, { gamma: tf.ones([4]), beta: tf.zeros([4]) }).dataSync();
    const m = 2.5;
    const s = Math.sqrt(1.25 + 1e-5);
    assertClose(y, [1, 2, 3, 4].map((v) => (v - m) / s), 1e-5);
    x.dispose();
  });
  it('causalSelfAttention equals lib/attention multiHeadAttention(causal) (atol 1e-5)', () => {
    const p = initMultiHeadParams({ dModel: 16, numHeads: 4, seed: 3 });
    const x = tf.randomNormal([2, 7, 16], 0, 1, 'float32', 5);
    const ours = causalSelfAttention(p, x, 4);
    const ref = multiHeadAttention(p, x, x, { numHeads: 4, causal: true });
    assertClose(ours.output.dataSync(), ref.output.dataSync(), 1e-5, 1e-4);
    assertClose(ours.weights.dataSync(), ref.weights.dataSync(), 1e-5, 1e-4);
    tf.dispose([ours.output, ours.weights, ref.output, ref.weights, x, Object.values(p)]);
  });
  it('GPT is causal: changing a later token leaves earlier logits unchanged', () => {
    const gpt = new GPT({ vocabSize: 11, blockSize: 12, dModel: 16, numHeads: 2, numLayers: 2, seed: 2 });
    const a = tf.tidy(() => gpt.forward(tf.tensor2d([[1, 2, 3, 4, 5, 6]], undefined, 'int32')).logits.arraySync()[0]!);
    const b = tf.tidy(() => gpt.forward(tf.tensor2d([[1, 2, 3, 9, 9, 9]], undefined, 'int32')).logits.arraySync()[0]!);
    assertClose(a.slice(0, 3).flat(), b.slice(0, 3).flat(), 1e-5);
    assert.ok(Math.abs(a[3]![0]! - b[3]![0]!) > 1e-6);
    gpt.dispose();
  });
  it('KV-cache generation gives exactly the tokens of recomputation (greedy, temperature, top-k; several seeds), no leaks', async () => {
    const gpt = new GPT({ vocabSize: 13, blockSize: 40, dModel: 16, numHeads: 4, numLayers: 2, seed: 4 });
    await assertNoLeaks(() => {
      for (const opts of [{ temperature: 0 }, { temperature: 1 }, { temperature: 0.7, topK: 4 }]) {
        for (const seed of [1, 2, 3]) {
          const a = gpt.generate([1, 5, 7], { steps: 30, seed, ...opts, useCache: false });
          const b = gpt.generate([1, 5, 7], { steps: 30, seed, ...opts, useCache: true });
          assert.deepEqual(b, a, `${JSON.stringify(opts)} seed ${seed}`);
        }
      }
    });
    assert.throws(() => gpt.generate([1], { steps: 45 }), /exceeds blockSize/);
    gpt.dispose();
  });
  it('pickToken: greedy is argmax, top-k never leaves the k best, temperature sharpens', () => {
    const logits = [0.1, 2, -1, 1.9, 0];
    const rng = new Rng(1);
    assert.equal(pickToken(logits, rng, { temperature: 0 }), 1);
    for (let i = 0; i < 200; i++) assert.ok([1, 3].includes(pickToken(logits, rng, { temperature: 1, topK: 2 })));
    const count = (t: number) => Array.from({ length: 2000 }, () => pickToken(logits, rng, { temperature: t })).filter((k) => k === 1 || k === 3).length;
    assert.ok(count(0.2) > count(2) + 200);
  });
  it('Transformer encoder-decoder: shapes, no attention on padding, decoder causal, trains', async () => {
    const tr = new Transformer({ srcVocabSize: 9, tgtVocabSize: 7, dModel: 16, numHeads: 2, numLayers: 1, dFF: 32, seed: 1 });
    const src = tf.tensor2d([[3, 4, 5, 0, 0], [5, 6, 7, 8, 2]], undefined, 'int32') as tf.Tensor2D;
    const tgtIn = tf.tensor2d([[1, 2, 3], [1, 4, 5]], undefined, 'int32') as tf.Tensor2D;
    const tgtOut = tf.tensor2d([[2, 3, 6], [4, 5, 6]], undefined, 'int32') as tf.Tensor2D;
    const { logits, crossWeights } = tr.forward(src, tgtIn);
    assert.deepEqual(logits.shape, [2, 3, 7]);
    assert.deepEqual(crossWeights.shape, [2, 2, 3, 5]);
    assertClose(crossWeights.slice([0, 0, 0, 3], [1, 2, 3, 2]).dataSync(), new Array(12).fill(0), 1e-7);
    const changed = tf.tensor2d([[1, 2, 6], [1, 4, 5]], undefined, 'int32') as tf.Tensor2D;
    const l2 = tr.forward(src, changed).logits;
    assertClose(l2.slice([0, 0, 0], [1, 2, 7]).dataSync(), logits.slice([0, 0, 0], [1, 2, 7]).dataSync(), 1e-5);
    const opt = adam(1e-2);
    const batch = { src, tgtIn, tgtOut };
    const first = trainStep(opt, () => tr.loss(batch), { vars: tr.variables }).loss;
    for (let i = 0; i < 20; i++) trainStep(opt, () => tr.loss(batch), { vars: tr.variables });
    assert.ok(tf.tidy(() => tr.loss(batch).dataSync()[0]!) < first / 2);
    const greedy = tr.greedy(src, 3, 1);
    assert.deepEqual(greedy.arraySync(), tgtOut.arraySync());
    tf.dispose([logits, crossWeights, l2, changed, src, tgtIn, tgtOut, greedy]);
    opt.dispose();
    tr.dispose();
  });
});
