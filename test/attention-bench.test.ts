/**
 * The attention benchmark: the peak-memory method against closed forms, the scaling fit, and a
 * `--quick` run of `attention-kit bench` that must write the JSON and the plotly page.
 * (No speed is asserted: numbers are for the benchmark's report, not for tests.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/index.js';
import { measurePeakBytes, scalingExponent, type BenchResult, type BenchRow } from '../lib/bench/attention.js';
import { runCli } from './helpers/kit.js';

describe('measurePeakBytes', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: counts each live buffer once (closed form: 2 × 4000 bytes, a reshape adds nothing)`, async () => {
      await initBackend({ prefer: backend, verbose: false });
      const x = tf.ones([1000]);
      const { result, peakBytes, method } = await measurePeakBytes(() =>
        tf.tidy(() => {
          const y = tf.neg(x); // +4000
          const view = tf.reshape(y, [10, 100]); // shares y's buffer
          return tf.neg(view); // +4000; y is freed when the tidy ends
        }),
      );
      assert.equal(peakBytes, 8000, method);
      assert.deepEqual(result.shape, [10, 100]);
      tf.dispose([x, result]);
    });
  }
});

describe('scalingExponent', () => {
  it('recovers the exponent of t = c·n^p (closed form)', () => {
    const rows = (p: number): BenchRow[] =>
      [1024, 2048, 4096, 8192].map((n) => ({ method: 'linear', n, seconds: 3e-6 * n ** p, wallSeconds: null, cpuSeconds: null, samples: [], flops: 0, gflops: 1, ofMatmul: 1, peakBytes: 0 }));
    assert.ok(Math.abs(scalingExponent(rows(1), 'linear')! - 1) < 1e-9);
    assert.ok(Math.abs(scalingExponent(rows(2), 'linear')! - 2) < 1e-9);
    assert.equal(scalingExponent(rows(1), 'exact'), null);
  });
});

describe('attention-kit bench --quick', () => {
  it('prints the table and writes the JSON and a plotly page that loads plotly from node_modules', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-'));
    const json = join(out, 'quick.json');
    const r = runCli(['bench', '--quick', '--backend', 'wasm', '--json', json], {}, 5 * 60_000);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /method\s+n\s+wall ms\s+cpu ms\s+GFLOP\/s/);
    const result = JSON.parse(readFileSync(json, 'utf8')) as BenchResult;
    assert.equal(result.backend, 'wasm');
    assert.deepEqual(result.config.sizes, [128, 256]);
    assert.equal(result.rows.length, 10);
    for (const row of result.rows) {
      assert.ok(row.seconds! > 0 && row.gflops! > 0 && row.peakBytes! > 0, JSON.stringify(row));
    }
    assert.ok(result.matmulGflops > 0);
    const html = readFileSync(join(out, 'quick.html'), 'utf8');
    const src = /<script src="([^"]+)"><\/script>/.exec(html)?.[1];
    assert.ok(src, 'the page references plotly');
    assert.ok(!/https?:/.test(src), `no CDN: ${src}`);
    assert.ok(existsSync(resolve(dirname(json), src)), `plotly bundle at ${src}`);
    for (const id of ['time', 'gflops', 'memory']) assert.match(html, new RegExp(`Plotly.newPlot\\("${id}"`));
  });
});
