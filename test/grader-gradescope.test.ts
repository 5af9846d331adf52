/**
 * `attention-kit gradescope`: the zip has what Gradescope needs, and its run_autograder grades a
 * submission in a simulated /autograder tree (AUTOGRADER_ROOT) into results/results.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from './helpers/kit.js';

test('gradescope: the autograder zip grades /autograder/submission into results.json', { timeout: 600_000 }, (ctx) => {
  const work = mkdtempSync(join(tmpdir(), 'gradescope-test-'));
  // rmSync removes the links to node_modules, dist and .venv, not what they point to.
  ctx.after(() => rmSync(work, { recursive: true, force: true }));
  const zip = join(work, 'ex10.zip');
  const built = runCli(['gradescope', 'ex10-causal-mask', '--out', zip]);
  assert.equal(built.status, 0, built.stdout + built.stderr);

  const root = join(work, 'autograder');
  const source = join(root, 'source');
  mkdirSync(source, { recursive: true });
  const unzip = spawnSync(join(ROOT, '.venv', 'bin', 'python'), ['-m', 'zipfile', '-e', zip, source], { encoding: 'utf8' });
  assert.equal(unzip.status, 0, unzip.stderr);
  for (const f of ['setup.sh', 'run_autograder', 'package.json', 'package-lock.json', 'cli/grader/grade.ts', 'lib/index.ts', 'solutions/ex10-causal-mask.ipynb']) {
    assert.ok(existsSync(join(source, f)), `zip lacks ${f}`);
  }
  // Only this assignment's instructor notebook, and no tests, notebooks or other solutions.
  for (const f of ['solutions/ex08-scaled-dot-product.ipynb', 'test', 'notebooks', 'exercises', 'node_modules', '.venv']) {
    assert.ok(!existsSync(join(source, f)), `zip should not contain ${f}`);
  }
  assert.match(readFileSync(join(source, 'setup.sh'), 'utf8'), /npm run setup/);
  assert.match(readFileSync(join(source, 'run_autograder'), 'utf8'), /AUTOGRADER_ROOT:-\/autograder/);

  // What setup.sh would install, borrowed from this checkout.
  for (const f of ['node_modules', 'dist', '.venv']) symlinkSync(join(ROOT, f), join(source, f));
  mkdirSync(join(root, 'submission'));
  copyFileSync(join(ROOT, 'solutions', 'ex10-causal-mask.ipynb'), join(root, 'submission', 'my-work.ipynb'));

  const run = spawnSync('bash', [join(source, 'run_autograder')], { encoding: 'utf8', env: { ...process.env, AUTOGRADER_ROOT: root }, timeout: 500_000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const results = JSON.parse(readFileSync(join(root, 'results', 'results.json'), 'utf8'));
  assert.equal(results.score, 2);
  assert.equal(results.tests.length, 1);
  const [t] = results.tests;
  for (const key of ['name', 'score', 'max_score', 'output', 'visibility', 'execution_time']) assert.ok(key in t, `tests[0] lacks ${key}`);
  assert.equal(t.max_score, 2);
  assert.equal(typeof results.execution_time, 'number');
});
