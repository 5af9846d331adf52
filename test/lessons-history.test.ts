/**
 * Notebooks 01, 02, 03, 05, 06, 07 and 10 run top to bottom through the real tslab kernel under
 * CI=true (the quick, announced budgets) and print the results each lesson must show. The
 * full-strength thresholds are checked by test/models-full.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executeNotebook, notebookText } from './helpers/kit.js';

function run(notebook: string): string {
  const { report, executed, result } = executeNotebook(notebook, { CI: 'true' }, 900);
  const text = notebookText(executed);
  assert.ok(report.ok, `${notebook} failed at cell ${report.error?.cell}: ${report.error?.message}\n${result.stdout.slice(-3000)}`);
  assert.match(text, /attention-kit: backend = /, 'the first cell initialises a backend');
  return text;
}

const pct = (text: string, re: RegExp): number => {
  const m = re.exec(text);
  assert.ok(m, `no match for ${re}`);
  return Number(m[1]);
};

describe('history-to-Transformer lessons (CI budgets)', { concurrency: false }, () => {
  it('01: the perceptron learns AND and OR exactly, fails XOR; the MLP solves XOR', () => {
    const text = run('notebooks/01-history-perceptron.ipynb');
    assert.match(text, /perceptron AND: accuracy 100% .*learned exactly/);
    assert.match(text, /perceptron OR : accuracy 100% .*learned exactly/);
    assert.match(text, /perceptron XOR: accuracy (0|25|50|75)% .*never converged/);
    assert.match(text, /MLP on XOR after \d+ steps: outputs 0 1 1 0, targets 0 1 1 0: 4\/4 correct/);
    assert.ok(pct(text, /hand-written and automatic gradients: ([\d.e+-]+)/) < 1e-5);
  });

  it('02: rules are right on the prototypes; the learned classifier wins on noisy sightings', () => {
    const text = run('notebooks/02-two-schools.ipynb');
    assert.match(text, /rules on the 11 clean prototypes: 11\/11 correct/);
    const rules = pct(text, /symbolic rules: +accuracy ([\d.]+)%/);
    const learned = pct(text, /learned classifier: +accuracy ([\d.]+)%/);
    assert.ok(learned > rules + 5, `learned ${learned}% vs rules ${rules}%`);
  });

  it('03: naive Bayes ≥ 95% on held-out messages, accuracy grows with data; fuel plots', () => {
    const text = run('notebooks/03-ml-era-fuel.ipynb');
    assert.ok(pct(text, /naive Bayes held-out accuracy: ([\d.]+)%/) >= 95);
    const small = pct(text, /trained on +10 messages: ([\d.]+)%/);
    const large = pct(text, /trained on +1000 messages: ([\d.]+)%/);
    assert.ok(large > small + 5);
    assert.match(text, /GPT-1 → GPT-3 parameters ×1496/);
  });

  it('05: vanishing (≥ 100×) and exploding gradients measured per step; LSTM much closer to 1', () => {
    const text = run('notebooks/05-why-attention-rnn.ipynb');
    const vanish = pct(text, /RNN tanh, scale 1 \(vanishing\) +‖∂L\/∂x_1‖ \/ ‖∂L\/∂x_52‖ = ([\d.e+-]+)/);
    const explode = pct(text, /RNN tanh, scale 4 \(exploding\) +‖∂L\/∂x_1‖ \/ ‖∂L\/∂x_52‖ = ([\d.e+-]+)/);
    const lstm = pct(text, /LSTM, forget bias 2 +‖∂L\/∂x_1‖ \/ ‖∂L\/∂x_52‖ = ([\d.e+-]+)/);
    assert.ok(vanish <= 0.01, `vanishing ratio ${vanish}`);
    assert.ok(explode >= 100, `exploding ratio ${explode}`);
    assert.ok(lstm >= 0.1 && lstm <= 10, `LSTM ratio ${lstm}`);
    assert.match(text, /associative recall \(6 pairs\) after \d+ steps: RNN [\d.]+%, LSTM [\d.]+%/);
  });

  it('06: encoder-decoder without attention: held-out exact match by input length (dates and copy)', () => {
    const text = run('notebooks/06-encoder-decoder.ipynb');
    assert.match(text, /test dates also in training: 0/);
    assert.match(text, /no attention: exact match [\d.]+% and per-character accuracy [\d.]+% on 1000 held-out dates/);
    assert.match(text, /input length +\d+–\d+: exact match [\d.]+%/);
    assert.match(text, /copy, length +0–4: exact match [\d.]+%/);
    assert.match(text, /copy, length 15–19: exact match [\d.]+%/);
  });

  it('07: Bahdanau attention on dates (exact match, by length, attention mass on the fields); copy with Luong attention by length', () => {
    const text = run('notebooks/07-attention-layer.ipynb');
    assert.match(text, /Bahdanau attention: exact match [\d.]+% \(\d+\/1000\) on held-out dates/);
    const month = pct(text, /writing the month digits: ([\d.]+)% of attention on the input's month field \(which is ([\d.]+)% of the input\)/);
    assert.ok(month > 0 && month <= 100);
    assert.match(text, /copy with attention, length 15–19: exact match [\d.]+%/);
  });

  it('10: Transformer parts, GPT against unigram/bigram baselines, KV cache identical and timed', () => {
    const text = run('notebooks/10-transformer-gpt.ipynb');
    assert.match(text, /weight on the padded source positions: 0\b/);
    const uni = pct(text, /unigram: ([\d.]+) nats\/char/);
    const bi = pct(text, /bigram: +([\d.]+) nats\/char/);
    assert.ok(bi < uni);
    assert.match(text, /GPT test loss: [\d.]+ nats\/char/);
    assert.match(text, /KV cache: identical tokens: true; without cache [\d.]+ s, with cache [\d.]+ s: [\d.]+× faster/);
  });
});
