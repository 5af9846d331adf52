/**
 * The backend ladder: forced failures of each rung, ATTN_BACKEND, clear errors, the wasm kernel
 * the kit adds, and agreement between the backends available here.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import {
  BACKEND_LADDER,
  BACKEND_TOLERANCE,
  BackendUnavailableError,
  initBackend,
  maxAbsDifference,
  onEachBackend,
  probeBackends,
  useBackend,
  type BackendName,
} from '../lib/index.js';

const require = createRequire(import.meta.url);
function installed(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

describe('backend ladder', () => {
  after(async () => {
    await initBackend({ prefer: 'cpu', verbose: false });
  });

  it('steps down one rung each time the rung above is disabled', async () => {
    // Disable rungs from the top; the choice must always be the first rung not disabled that loads.
    const probe = await probeBackends();
    const loads = new Set(probe.filter((p) => p.ok).map((p) => p.name));
    assert.ok(loads.has('cpu'), 'the cpu backend must always load');
    for (let top = 0; top < BACKEND_LADDER.length; top++) {
      const disable = BACKEND_LADDER.slice(0, top);
      const expected = BACKEND_LADDER.slice(top).find((name) => loads.has(name))!;
      const choice = await initBackend({ disable, verbose: false, env: {} });
      assert.equal(choice.name, expected, `with ${disable.join(',') || 'nothing'} disabled`);
      assert.equal(tf.getBackend(), choice.tfBackend);
      assert.equal(choice.forced, false);
      // Every rung above the choice is listed as tried and failed, with a reason.
      for (const name of BACKEND_LADDER.slice(0, BACKEND_LADDER.indexOf(expected))) {
        const attempt = choice.attempts.find((a) => a.name === name);
        assert.ok(attempt && !attempt.ok && attempt.reason.length > 0, `rung ${name} should be reported as failed`);
      }
      for (const name of disable) {
        assert.match(choice.attempts.find((a) => a.name === name)!.reason, /disabled/);
      }
    }
  });

  it('throws, naming every rung and why, when nothing loads', async () => {
    await assert.rejects(initBackend({ disable: [...BACKEND_LADDER], verbose: false, env: {} }), (error: Error) => {
      for (const name of BACKEND_LADDER) assert.match(error.message, new RegExp(`${name}: disabled`));
      return true;
    });
  });

  it('ATTN_BACKEND forces a rung', async () => {
    const choice = await initBackend({ verbose: false, env: { ATTN_BACKEND: 'cpu' } });
    assert.equal(choice.name, 'cpu');
    assert.equal(choice.forced, true);
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(choice.reason, /forced by ATTN_BACKEND/);
    const wasm = await initBackend({ verbose: false, env: { ATTN_BACKEND: 'wasm' } });
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(wasm.forced, true);
  });

  it('prefer overrides ATTN_BACKEND', async () => {
    const choice = await initBackend({ prefer: 'cpu', verbose: false, env: { ATTN_BACKEND: 'wasm' } });
    assert.equal(choice.name, 'cpu');
    assert.match(choice.reason, /initBackend\(\{ prefer \}\)/);
  });

  it('a forced rung that cannot load is a clear error naming what to install', async () => {
    // A rung that is disabled here stands in for one that is not installed, on any machine.
    await assert.rejects(
      initBackend({ verbose: false, env: { ATTN_BACKEND: 'wasm', ATTN_BACKEND_DISABLE: 'wasm' } }),
      (error: unknown) => {
        assert.ok(error instanceof BackendUnavailableError);
        assert.equal(error.backend, 'wasm');
        assert.match(error.message, /backend 'wasm' is not available here: disabled.*npm install @tensorflow\/tfjs-backend-wasm/);
        return true;
      },
    );
    // And a package that really is missing on this machine, where one is.
    for (const [rung, pkg] of [['node', '@tensorflow/tfjs-node'], ['node-gpu', '@tensorflow/tfjs-node-gpu']] as const) {
      if (installed(pkg)) continue;
      await assert.rejects(initBackend({ verbose: false, env: { ATTN_BACKEND: rung } }), (error: Error) => {
        assert.match(error.message, new RegExp(`${pkg.replace('/', '\\/')} is not installed`));
        assert.match(error.message, /npm install/);
        return true;
      });
    }
  });

  it('rejects a backend name that does not exist, listing the valid ones', async () => {
    await assert.rejects(initBackend({ verbose: false, env: { ATTN_BACKEND: 'tpu' } }), /ATTN_BACKEND='tpu' is not a backend; expected one of node-gpu, webgpu, node, wasm, cpu/);
  });

  it('prints the choice and each skipped rung (visible fallback)', async () => {
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      await initBackend({ disable: ['node-gpu', 'webgpu', 'node'], env: {} });
    } finally {
      console.log = original;
    }
    assert.match(lines[0]!, /attention-kit: backend = (wasm|cpu)/);
    assert.ok(lines.some((l) => /✗ node-gpu .*disabled/.test(l)));
    assert.ok(lines.some((l) => /✗ node .*disabled/.test(l)));
  });
});

describe('wasm gap kernels', () => {
  it('the gradient of tf.gather (an embedding) works on wasm and equals cpu', async () => {
    const ids = [0, 2, 2, 4, 1, 2];
    const table = Array.from({ length: 5 * 3 }, (_, i) => Math.sin(i));
    const upstream = Array.from({ length: ids.length * 3 }, (_, i) => Math.cos(i));
    const gradOf = () =>
      tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d(ids, 'int32')).mul(tf.tensor2d(upstream, [ids.length, 3])).sum())(
        tf.tensor2d(table, [5, 3]),
      );
    const [wasm, cpu] = await onEachBackend(['wasm', 'cpu'], gradOf);
    // Closed form: row r of the gradient is the sum of the upstream rows whose id is r.
    const expected = new Array(15).fill(0);
    ids.forEach((id, i) => {
      for (let j = 0; j < 3; j++) expected[id * 3 + j] += upstream[i * 3 + j]!;
    });
    assert.ok(maxAbsDifference(wasm!.values, expected) < 1e-6, `wasm ${wasm!.values} vs ${expected}`);
    assert.ok(maxAbsDifference(cpu!.values, expected) < 1e-6);
  });

  it('unsortedSegmentSum on wasm matches a loop, dropping out-of-range ids', async () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const seg = [1, 0, 1, 5];
    const [wasm] = await onEachBackend(['wasm'], () =>
      tf.unsortedSegmentSum(tf.tensor2d(x, [4, 2]), tf.tensor1d(seg, 'int32'), 3),
    );
    assert.deepEqual(wasm!.values, [3, 4, 1 + 5, 2 + 6, 0, 0]);
  });
});

describe('cross-backend agreement', () => {
  it(`softmax attention agrees on every available backend within ${BACKEND_TOLERANCE}`, async () => {
    const available = (await probeBackends()).filter((p) => p.ok).map((p) => p.name as BackendName);
    const q = Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.sin(i * 1.3));
    const k = Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.cos(i * 0.7));
    const v = Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.sin(i * 0.4 + 1));
    const results = await onEachBackend(available, () => {
      const scores = tf.matMul(tf.tensor3d(q, [2, 5, 4]), tf.tensor3d(k, [2, 5, 4]), false, true).div(2);
      return tf.matMul(tf.softmax(scores), tf.tensor3d(v, [2, 5, 4]));
    });
    for (const r of results) {
      assert.ok(maxAbsDifference(r.values, results[0]!.values) <= BACKEND_TOLERANCE, `${r.backend} vs ${results[0]!.backend}`);
    }
  });

  it('useBackend leaves no tensors behind', async () => {
    await useBackend('cpu');
    const before = tf.memory().numTensors;
    await useBackend('wasm');
    await useBackend('cpu');
    assert.equal(tf.memory().numTensors, before);
  });
});
