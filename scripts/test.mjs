#!/usr/bin/env node
// Runs every test: the compiled node:test files under dist/test (unit tests, notebook execution
// through the real Jupyter kernel, the grader, the browser tests). Run after scripts/setup.mjs.
//   node scripts/test.mjs [filter...]   only files whose name contains one of the filters
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

const files = walk(testDir)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((flt) => relative(testDir, f).includes(flt)))
  .sort();
if (files.length === 0) {
  console.error(`no test files found under ${relative(root, testDir)}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
console.log(`running ${files.length} test files`);
// Two cores: run test files two at a time; heavy notebook tests serialise on the kernel anyway.
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit', env: { ...process.env, ATTENTION_KIT_ROOT: root } },
);
process.exit(result.status ?? 1);
