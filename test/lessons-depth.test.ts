/**
 * Lessons 04, 08, 09, 11, 12, 13, 14 run top to bottom through the real tslab kernel with the CI
 * budget, draw their figures as plotly MIME bundles, and print the numbers their prose relies on.
 * Each test reads those numbers back and checks them against what the lesson claims.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { executeNotebook, notebookText } from './helpers/kit.js';

type Executed = ReturnType<typeof executeNotebook>['executed'];

/** Run a notebook with the quick (CI) budget and fail with the runner's message if a cell failed. */
function run(path: string): { text: string; executed: Executed; seconds: number } {
  const { report, executed, result } = executeNotebook(path, { CI: 'true' });
  assert.ok(report.ok, `${path} failed at cell ${report.error?.cell}: ${report.error?.message}\n${report.error?.where}\n${result.stdout.slice(-2000)}`);
  return { text: notebookText(executed), executed, seconds: report.seconds };
}

/** The first number captured by `pattern` (group 1), or a failure naming the pattern. */
function num(text: string, pattern: RegExp): number {
  const m = text.match(pattern);
  assert.ok(m, `output does not match ${pattern}`);
  return Number(m[1]);
}

/** Every number captured by the global `pattern`. */
function nums(text: string, pattern: RegExp): number[] {
  return [...text.matchAll(pattern)].map((m) => Number(m[1]));
}

/** How many plotly figures the notebook displayed (each also with its HTML fallback). */
function figureCount(executed: Executed): number {
  let count = 0;
  for (const cell of executed.cells) {
    for (const o of (cell.outputs ?? []) as { output_type: string; data?: Record<string, unknown> }[]) {
      if (o.output_type !== 'display_data' || !o.data?.['application/vnd.plotly.v1+json']) continue;
      const html = o.data['text/html'];
      assert.ok(typeof html === 'string' || Array.isArray(html), 'a plotly bundle without its HTML fallback');
      count++;
    }
  }
  return count;
}

describe('lesson 04: the coffee-shop sentence', () => {
  test('weights sum to 1, match the library, depend on the question, ignore order', () => {
    const { text, executed } = run('notebooks/04-attention-intuition.ipynb');
    assert.ok(num(text, /scaledDotProductAttention weights\| = ([\d.e+-]+)/) < 1e-6);
    const sums = nums(text, /row sums to ([\d.]+) for/g);
    assert.equal(sums.length, 2);
    sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5, `row sum ${s}`));
    // the first question's top tokens are the key information
    const q1 = text.slice(text.indexOf('How many times did I go to the coffee shop?\n'));
    assert.match(q1, /^How many times[^\n]*\n\s+coffee shop\s+\(position  5\)/);
    const share = num(text, /Question 1 puts ([\d.]+)% of its attention on ([\d.]+)% of the tokens/);
    const tokenShare = num(text, /of its attention on ([\d.]+)% of the tokens/);
    assert.ok(share > 3 * tokenShare, `key information gets ${share}% of the weight on ${tokenShare}% of the tokens`);
    assert.ok(num(text, /total variation distance between the two weight rows: ([\d.]+)/) > 0.5);
    assert.match(text, /largest feature of answer 1: (going\/leaving|coffee shop); of answer 2: drink/);
    const shop = text.match(/weights of "coffee shop" at positions 5 and 27: ([\d.]+) and ([\d.]+)/)!;
    assert.ok(shop && Number(shop[1]) > 0.1, 'coffee-shop weights not printed');
    assert.equal(shop[1], shop[2], 'both coffee-shop mentions get the same weight');
    assert.ok(num(text, /answer\(reversed sentence\)\| = ([\d.e+-]+)/) < 1e-5);
    // sharpness: entropy falls monotonically from log2(31)
    const entropies = nums(text, /entropy ([\d.]+) bits/g);
    assert.equal(entropies.length, 7);
    assert.ok(Math.abs(entropies[0]! - Math.log2(31)) < 0.01);
    entropies.slice(1).forEach((e, i) => assert.ok(e < entropies[i]!, `entropy not decreasing at ${i + 1}`));
    assert.ok(figureCount(executed) >= 4);
  });
});

describe('lesson 08: Q, K, V and the formula', () => {
  test('formula check, alignment functions, √d_k saturation, masked softmax', () => {
    const { text, executed } = run('notebooks/08-qkv-formula.ipynb');
    assert.ok(num(text, /max \|library − formula by hand\| = ([\d.e+-]+)/) < 1e-5);
    // dot / scaled dot ratio is exactly √8 (atol 1e-3 on the printed 4 decimals)
    assert.ok(Math.abs(num(text, /dot \/ scaled dot: min ([\d.]+)/) - Math.sqrt(8)) < 1e-3);
    assert.ok(Math.abs(num(text, /dot \/ scaled dot: min [\d.]+, max ([\d.]+)/) - Math.sqrt(8)) < 1e-3);
    assert.match(text, /(^|>)dot\s+6\s+6\s/m, 'dot and scaled dot agree on every top key');
    // saturation table: unscaled score std ≈ √d_k, scaled ≈ 1 (20% tolerance)
    const rows = [...text.matchAll(/^\s*(\d+)\s+(none|1\/√d_k)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.e+-]+)$/gm)].map((m) => ({
      dk: Number(m[1]), scaled: m[2] !== 'none', std: Number(m[3]), maxW: Number(m[4]), grad: Number(m[6]),
    }));
    assert.equal(rows.length, 10);
    for (const r of rows) {
      const expected = r.scaled ? 1 : Math.sqrt(r.dk);
      assert.ok(Math.abs(r.std - expected) < 0.2 * expected, `d_k ${r.dk} scaled=${r.scaled}: std ${r.std}, expected ≈ ${expected}`);
    }
    const unscaled = rows.filter((r) => !r.scaled);
    assert.ok(unscaled[4]!.maxW > 0.9 && unscaled[0]!.maxW < 0.5, 'unscaled softmax saturates as d_k grows');
    assert.ok(num(text, /the gradient shrinks ([\d.]+)× from d_k = 4/) > 2);
    const scaledFactor = num(text, /scaled: it changes by a factor (\d+\.\d+)/);
    assert.ok(scaledFactor > 0.8 && scaledFactor < 1.25);
    // masking
    assert.match(text, /largest weight on a padded key: 0; on a padded or future key: 0/);
    assert.match(text, /maskedSoftmax\s+\[0\.269, 0\.731, 0\.000, 0\.000\]\s+sum 1\.000\s+\[0\.000, 0\.000, 0\.000, 0\.000\]\s+sum 0\.000/);
    assert.match(text, /naive exp\(-inf\)[^\n]*NaN/);
    assert.match(text, /mask after softmax[^\n]*sum 0\.8/);
    assert.match(text, /add -1e9[^\n]*\[0\.250, 0\.250, 0\.250, 0\.250\]/);
    assert.ok(figureCount(executed) >= 6);
  });
});

describe('lesson 09: kinds of attention', () => {
  test('sampling matches softmax, hard attention trains three ways, two heads specialise', () => {
    const { text, executed } = run('notebooks/09-kinds-of-attention.ipynb');
    assert.ok(num(text, /largest \|frequency − softmax weight\| = ([\d.]+)/) < 0.05);
    assert.equal(num(text, /bilinear\(\) vs the library's generalScores: max difference ([\d.e+-]+)/), 0);
    const accs = nums(text, /test accuracy with hard argmax attention: ([\d.]+)%/g);
    assert.equal(accs.length, 3);
    accs.forEach((a) => assert.ok(a > 90, `a hard-attention method reached only ${a}%`));
    const cosine = num(text, /mean cosine ([\d.-]+)/);
    assert.ok(cosine > 0 && cosine < 0.95, `REINFORCE estimates should point the right way on average but not exactly (cosine ${cosine})`);
    assert.match(text, /cross-attention weights \[b, heads, n_Y, n_X\] = \[1,1,5,6\]/);
    assert.ok(num(text, /same symbol: self [\d.]+, cross ([\d.]+)/) > 0.8);
    // heads: each task solved, each head owns one job (weight > 0.8 on it), ablation breaks only that job
    assert.ok(num(text, /test accuracy: prev ([\d.]+)%/) > 90);
    assert.ok(num(text, /test accuracy: prev [\d.]+%, partner ([\d.]+)%/) > 90);
    const heads = [...text.matchAll(/^\s+([01])\s+([\d.]+)\s+([\d.]+)$/gm)].map((m) => ({ prev: Number(m[2]), partner: Number(m[3]) }));
    assert.equal(heads.length, 2);
    const prevHead = heads[0]!.prev > heads[1]!.prev ? 0 : 1;
    assert.ok(heads[prevHead]!.prev > 0.8 && heads[1 - prevHead]!.partner > 0.8, `heads did not specialise: ${JSON.stringify(heads)}`);
    const offPrev = text.match(new RegExp(`head ${prevHead} switched off: prev\\s+([\\d.]+)%\\s+partner\\s+([\\d.]+)%`))!;
    assert.ok(Number(offPrev[1]) < 50 && Number(offPrev[2]) > 90, `ablating the prev head: ${offPrev[0]}`);
    assert.ok(figureCount(executed) >= 5);
  });
});

describe('lesson 11: local, sparse and relative-position attention', () => {
  test('pair counts scale as claimed, relative methods check out, ALiBi extrapolates', () => {
    const { text, executed } = run('notebooks/11-improving-attention.ipynb');
    const growth = text.match(/full ([\d.]+), window ([\d.]+), strided ([\d.]+), BigBird ([\d.]+)/)!;
    assert.ok(growth, 'growth exponents not printed');
    const [full, window, strided, bigbird] = growth.slice(1).map(Number);
    assert.ok(Math.abs(full! - 2) < 0.02 && Math.abs(window! - 1) < 0.1 && Math.abs(strided! - 1.5) < 0.1 && Math.abs(bigbird! - 1) < 0.1, growth[0]);
    assert.ok(num(text, /max \|localAttention − masked dense attention\| = ([\d.e+-]+)/) < 1e-5);
    assert.ok(num(text, /max change ([\d.e+-]+)/) < 1e-4, 'RoPE score depends only on the offset');
    assert.ok(num(text, /Shaw with zero tables vs plain attention: max difference ([\d.e+-]+)/) < 1e-6);
    assert.match(text, /0→0  1→1  2→2  4→4  8→8/);
    const acc = (kind: string) => text.match(new RegExp(`^${kind}\\s+accuracy at length 16: ([\\d.]+)%\\s+32: ([\\d.]+)%\\s+64: ([\\d.]+)%`, 'm'))!.slice(1).map(Number);
    for (const kind of ['sinusoidal', 'learned', 'ALiBi', 'RoPE']) assert.ok(acc(kind)[0]! > 90, `${kind} did not learn the task at the training length: ${acc(kind)}`);
    assert.ok(acc('ALiBi')[2]! > 95, `ALiBi at 4× length: ${acc('ALiBi')}`);
    assert.ok(acc('learned')[2]! < 80 && acc('sinusoidal')[2]! < 80, 'absolute positions should not extrapolate on this task');
    assert.match(text, /best beyond the training length: ALiBi/);
    assert.ok(figureCount(executed) >= 5);
  });
});

describe('lesson 12: efficiency', () => {
  test('benchmark rows, tiled memory linear, Performer error falls with features, KV cache sizes', () => {
    const { text, executed } = run('notebooks/12-efficiency.ipynb');
    for (const m of ['exact', 'tiled', 'local', 'sparse', 'linear']) assert.match(text, new RegExp(`^${m}\\s+128\\s`, 'm'), `no benchmark row for ${m}`);
    assert.match(text, /memory measured as: wasm heap|memory measured as: cpu/);
    const diffs = nums(text, /^\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+([\d.e+-]+)$/gm);
    assert.ok(diffs.length >= 3 && diffs.every((d) => d < 1e-5), `tiled vs exact differences ${diffs}`);
    assert.ok(num(text, /memory growth exponent at the largest n: exact ([\d.]+)/) > 1.7);
    assert.ok(num(text, /memory growth exponent at the largest n: exact [\d.]+, tiled ([\d.]+)/) < 1.2);
    const perf = nums(text, /Performer, m = +\d+ features\s+([\d.]+)/g);
    assert.equal(perf.length, 14);
    assert.ok(perf[6]! < perf[0]! / 3, `Performer error at 512 features ${perf[6]} vs 8 features ${perf[0]}`);
    assert.ok(num(text, /first beats uniform weights at m = (\d+)/) <= 512);
    assert.match(text, / 8 K\/V heads \(multi-head\): cache 512 bytes per token \(formula 512\)/);
    assert.match(text, / 1 K\/V heads \(multi-query\): cache 64 bytes per token \(formula 64\)/);
    nums(text, /max \|cached − full causal\| = ([\d.e+-]+)/g).forEach((d) => assert.ok(d < 1e-5, `cached decoding differs by ${d}`));
    assert.match(text, /32 layers, 32 K\/V heads \(MHA\)\s+512 KiB per token/);
    assert.ok(figureCount(executed) >= 6);
  });
});

describe('lesson 13: applications', () => {
  test('translation, summarisation, span QA and patch attention all beat their baselines', () => {
    const { text, executed } = run('notebooks/13-applications.ipynb');
    assert.ok(num(text, /held-out dates: exact match ([\d.]+)%/) >= 0);
    const summary = num(text, /([\d.]+)% of the chosen sentences are on the main topic/);
    const random = num(text, /random choice: ([\d.]+)%/);
    assert.ok(summary > random + 20, `summary ${summary}% vs random ${random}%`);
    assert.ok(num(text, /exact span ([\d.]+)%/) > 80);
    assert.ok(num(text, /held-out images: accuracy ([\d.]+)%/) > 60);
    const mass = num(text, /shape: ([\d.]+)% of the weight/);
    const area = num(text, /of the weight, on ([\d.]+)% of the patches/);
    assert.ok(mass > 2 * area, `[CLS] attention on the shape ${mass}% vs its area ${area}%`);
    assert.ok(figureCount(executed) >= 6);
  });
});

describe('lesson 14: interpretability', () => {
  test('last-layer attention names the marker, occlusion the source; weights mislead in both worked cases', () => {
    const { text, executed } = run('notebooks/14-interpretability.ipynb');
    assert.ok(num(text, /test accuracy: ([\d.]+)%/) > 90);
    assert.ok(num(text, /top position is the marker in ([\d.]+)% of examples/) > 80);
    const occSource = num(text, /hurts most is the source in ([\d.]+)%/);
    assert.ok(occSource > 60, `occlusion picks the source in ${occSource}%`);
    const rollSource = num(text, /mean flow from the source ([\d.]+)/);
    const rawSource = num(text, /on the answer's source \(marker − 1\) ([\d.]+)/);
    assert.ok(rollSource > rawSource + 0.05, `rollout ${rollSource} vs raw ${rawSource} on the source`);
    assert.match(text, /most often on top — last-layer attention: the marker; rollout: [a-z ]+; occlusion: the source/);
    const weightK0 = num(text, /token k0 has ([\d.]+)% of the weight/);
    const shareK0 = num(text, /of the weight and ([\d.]+)% of the contribution/);
    assert.ok(weightK0 > 50 && shareK0 < 1, `k0: weight ${weightK0}%, contribution ${shareK0}%`);
    assert.ok(num(text, /total variation distance between them: ([\d.]+)/) > 0.3);
    assert.ok(num(text, /max \|output difference\| = ([\d.e+-]+)/) < 1e-5);
    assert.match(text, /sum of alternative weights 1\.00000/);
    assert.ok(figureCount(executed) >= 4);
  });
});
