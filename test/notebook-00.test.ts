/**
 * Notebook 00 through the real kernel on the cpu and the wasm backend: both succeed and report the
 * same attention numbers within the kit's cross-backend tolerance.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND_TOLERANCE, maxAbsDifference } from '../lib/index.js';
import { executeNotebook, notebookText } from './helpers/kit.js';

function fingerprint(text: string, backend: string): number[] {
  const m = new RegExp(`attention fingerprint on ${backend}: (\\[[^\\]]*\\])`).exec(text);
  assert.ok(m, `no fingerprint for ${backend} in:\n${text}`);
  return JSON.parse(m[1]!);
}

describe('notebook 00 (setup)', () => {
  const runs: Record<string, number[]> = {};
  for (const backend of ['cpu', 'wasm']) {
    it(`runs top to bottom with ATTN_BACKEND=${backend}`, () => {
      const { report, executed, result } = executeNotebook('notebooks/00-setup.ipynb', { ATTN_BACKEND: backend, CI: 'true' });
      assert.ok(report.ok, `${result.stdout}\n${result.stderr}`);
      const text = notebookText(executed);
      assert.match(text, new RegExp(`Active backend: ${backend}`));
      assert.match(text, /forced by ATTN_BACKEND/);
      assert.match(text, /All \d+ available backends agree within 0.0001/);
      assert.match(text, /tensors still allocated: \d+/);
      // The plot is a real plotly figure bundle.
      const bundles = executed.cells.flatMap((c) => (c.outputs ?? []) as { output_type: string; data?: Record<string, unknown> }[]);
      assert.ok(bundles.some((o) => o.data && 'application/vnd.plotly.v1+json' in o.data), 'no plotly output');
      runs[backend] = fingerprint(text, backend);
    });
  }
  it(`cpu and wasm fingerprints agree within ${BACKEND_TOLERANCE}`, () => {
    assert.ok(runs.cpu && runs.wasm, 'both runs must have succeeded');
    assert.equal(runs.cpu.length, 8);
    assert.ok(maxAbsDifference(runs.cpu, runs.wasm) <= BACKEND_TOLERANCE, `${runs.cpu} vs ${runs.wasm}`);
  });
});
