/**
 * The grader's parts that need no kernel: static detection of off-limits library use, release
 * (solutions → exercises), notebook parsing, the hidden-case references and the comparison of
 * returned values. The kernel-backed grading runs are in grader.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/kit.js';
import { findLibraryUses, findingHits } from '../cli/grader/analyze.js';
import { releaseAll, releaseNotebook, stripSource } from '../cli/grader/release.js';
import { NotebookError, parseNotebook, readNotebook, sourceOf, isTestCell, nbgraderOf } from '../cli/grader/notebook.js';
import { FAMILIES, compareValue, nd, type Nd } from '../cli/grader/cases.js';
import { manifestOf, planCells } from '../cli/grader/grade.js';
import { Rng } from '../lib/random.js';

const WATCHED = new Set(['maskedSoftmax', 'scaledDotProductAttention', 'tf.softmax']);
const uses = (...sources: string[]) => findLibraryUses(sources.map((source, index) => ({ index, source })), WATCHED);
const names = (...sources: string[]) => uses(...sources).map((f) => f.name);

test('static check: direct, aliased and re-exported imports of an off-limits function are found', () => {
  assert.deepEqual(names(`import { maskedSoftmax } from 'attention-kit';`), ['maskedSoftmax', 'maskedSoftmax'].slice(0, 1));
  assert.deepEqual(names(`import { maskedSoftmax as ms } from 'attention-kit';\nconst w = ms(a, b);`), ['maskedSoftmax']);
  assert.deepEqual(names(`export { maskedSoftmax } from 'attention-kit';`), ['maskedSoftmax']);
  assert.deepEqual(names(`export * from 'attention-kit';`), ['*']);
  // An alias made in one cell from a name that another (instructor) cell imported.
  assert.deepEqual(names(`const f = maskedSoftmax;\nf(s, m);`), ['maskedSoftmax']);
});

test('static check: namespace access, static and computed', () => {
  assert.deepEqual(names(`import * as kit from 'attention-kit';\nkit.maskedSoftmax(s, m);`), ['maskedSoftmax']);
  assert.deepEqual(names(`import * as kit from 'attention-kit';\nkit['maskedSoftmax'](s, m);`), ['maskedSoftmax']);
  assert.deepEqual(names(`import * as kit from 'attention-kit';\nkit['masked' + 'Softmax'](s, m);`), ['*']);
  assert.deepEqual(names(`import * as kit from 'attention-kit';\nconst k: any = kit;`), ['*']);
  assert.deepEqual(names(`import * as kit from 'attention-kit';\nObject.values(kit)[3]();`), ['*']);
  assert.deepEqual(names(`import kit from 'attention-kit';\nkit.scaledDotProductAttention(q, k, v);`), ['scaledDotProductAttention']);
  // Allowed members of the namespace are fine.
  assert.deepEqual(names(`import * as kit from 'attention-kit';\nkit.initBackend();`), []);
});

test('static check: tf members that a part forbids, including through computed access', () => {
  assert.deepEqual(names(`const w = tf.softmax(s);`), ['tf.softmax']);
  assert.deepEqual(names(`const w = tf['softmax'](s);`), ['tf.softmax']);
  assert.deepEqual(names(`const w = (tf as any)['soft' + 'max'](s);`), ['*']);
  assert.deepEqual(names(`import { tf as t } from 'attention-kit';\nt.softmax(s);`), ['tf.softmax']);
  assert.deepEqual(names(`import { softmax } from '@tensorflow/tfjs';`), ['tf.softmax']);
  // Type positions and other members are fine.
  assert.deepEqual(names(`function f(x: tf.Tensor): tf.Tensor { return tf.exp(x.sub(x.max(-1, true))); }`), []);
});

test('static check: module loading and code evaluation count as possible library use', () => {
  for (const src of [
    `const kit = require('attention-kit');`,
    `const kit = await import('attention-kit');`,
    `import { maskedSoftmax } from 'attention-kit/dist/lib/index.js';`,
    `import * as fs from 'fs';`,
    `import m = require('attention-kit');`,
    `const f = eval('maskedSoftmax');`,
    `const f = new Function('return 1');`,
    `const F = (() => 0).constructor;`,
    `const F = (() => 0)['constructor'];`,
    `const g = globalThis;`,
    `process.mainModule;`,
  ]) {
    const found = uses(src);
    assert.ok(found.length > 0 && found.every((f) => f.name === '*'), `${src} → ${JSON.stringify(found)}`);
    assert.ok(found.some((f) => findingHits(f, ['maskedSoftmax'])), `${src} should cost a part with off-limits functions`);
  }
});

test('static check: honest solutions are clean, including own names that shadow library names', () => {
  const honest = `function maskedSoftmaxByHand(scores: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const keep = tf.broadcastTo(mask, scores.shape).greater(0);
    const e = tf.where(keep, tf.exp(scores.sub(scores.max(-1, true))), tf.zerosLike(scores));
    return tf.divNoNan(e, e.sum(-1, true));
  });
}
const env = process.env.CI;`;
  assert.deepEqual(uses(honest), []);
  assert.deepEqual(names(`function maskedSoftmax(s: tf.Tensor) { return s; }\nmaskedSoftmax(x);`), []);
  // The report points at the cell and line.
  const [f] = uses('const a = 1;\n\nconst f = maskedSoftmax;');
  assert.equal(f!.line, 3);
});

test('findingHits: named findings cost only the parts that forbid that name', () => {
  const named = { cell: 0, line: 1, name: 'maskedSoftmax', reach: 'kit' as const, message: '' };
  assert.equal(findingHits(named, ['maskedSoftmax']), true);
  assert.equal(findingHits(named, ['scaledDotProductAttention']), false);
  assert.equal(findingHits(named, []), false);
  const tfAny = { ...named, name: '*', reach: 'tf' as const };
  assert.equal(findingHits(tfAny, ['maskedSoftmax']), false);
  assert.equal(findingHits(tfAny, ['tf.softmax']), true);
});

test('release: solution regions become stubs that name the function; hidden tests disappear', () => {
  const src = [
    'function attendOne(q: tf.Tensor): tf.Tensor {',
    '  // BEGIN SOLUTION',
    '  return q.mul(2);',
    '  // END SOLUTION',
    '}',
    'await check("visible", () => {});',
    '// BEGIN HIDDEN TESTS',
    'await check("hidden", () => {});',
    '// END HIDDEN TESTS',
  ].join('\n');
  const out = stripSource(src, 'x');
  assert.equal(
    out,
    [
      'function attendOne(q: tf.Tensor): tf.Tensor {',
      '  // YOUR CODE HERE',
      "  throw new Error('not implemented yet: attendOne');",
      '}',
      'await check("visible", () => {});',
    ].join('\n'),
  );
  assert.throws(() => stripSource('// BEGIN SOLUTION\nx', 'cell 3'), /cell 3: a BEGIN SOLUTION region is never ended/);
  assert.throws(() => stripSource('// END SOLUTION', 'cell 3'), /never begun/);
});

test('release: hidden cells are dropped, outputs cleared, nbgrader metadata kept', () => {
  const nb = parseNotebook(
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: 'markdown', metadata: { attention_kit: { hidden: true } }, source: 'instructor note' },
        {
          cell_type: 'code',
          metadata: { nbgrader: { grade: false, grade_id: 'a', locked: false, solution: true, schema_version: 3 } },
          source: 'function f() {\n  // BEGIN SOLUTION\n  return 1;\n  // END SOLUTION\n}',
          outputs: [{ output_type: 'stream', name: 'stdout', text: 'x' }],
          execution_count: 3,
        },
      ],
    }),
    'inline',
  );
  const released = releaseNotebook(nb, 'demo');
  assert.equal(released.cells.length, 1);
  assert.deepEqual(released.cells[0]!.outputs, []);
  assert.equal(released.cells[0]!.execution_count, null);
  assert.equal(released.cells[0]!.metadata.nbgrader?.schema_version, 3);
  assert.match(sourceOf(released.cells[0]!), /not implemented yet: f/);
  assert.equal(released.metadata.attention_kit?.assignment, 'demo');
});

test('exercises/ is up to date with solutions/ (run `attention-kit release` if this fails)', () => {
  const r = releaseAll(join(ROOT, 'solutions'), join(ROOT, 'exercises'), { checkOnly: true });
  assert.deepEqual(r.stale, [], `stale: ${r.stale.join(', ')}`);
  assert.ok(r.unchanged.length >= 9);
});

test('solutions: nbgrader schema 3 metadata, a known case family per part, one exercise per lesson 04 and 08–14 plus find-the-bug', () => {
  const files = readdirSync(join(ROOT, 'solutions')).filter((f) => f.endsWith('.ipynb'));
  for (const lesson of ['ex04', 'ex08', 'ex09', 'ex10', 'ex11', 'ex12', 'ex13', 'ex14']) {
    assert.ok(files.some((f) => f.startsWith(lesson)), `no exercise for ${lesson}`);
  }
  assert.ok(files.some((f) => f.includes('find-the-bug')));
  for (const file of files) {
    const nb = readNotebook(join(ROOT, 'solutions', file));
    assert.equal(nb.metadata.kernelspec?.name, 'tslab', file);
    const manifest = manifestOf(nb, file.replace('.ipynb', ''));
    assert.ok(manifest.parts.length >= 1, file);
    for (const part of manifest.parts) {
      assert.ok(part.points > 0 && FAMILIES[part.cases], `${file}: ${part.id}`);
      assert.ok(part.offLimits.length > 0, `${file}: ${part.id} declares no off-limits functions`);
    }
    for (const cell of nb.cells.filter((c) => c.cell_type === 'code')) {
      const m = nbgraderOf(cell);
      assert.ok(m, `${file}: every code cell carries nbgrader metadata`);
      assert.equal(m.schema_version, 3);
      assert.deepEqual(cell.outputs, [], `${file}: committed without outputs`);
      if (isTestCell(cell)) assert.equal(m.locked, true);
    }
    const ids = nb.cells.map((c) => nbgraderOf(c)?.grade_id).filter(Boolean);
    assert.equal(new Set(ids).size, ids.length, `${file}: grade_ids are unique`);
  }
});

test('planCells: locked cells come from the instructor, test cells never run, learner cells run in order', () => {
  const sol = readNotebook(join(ROOT, 'solutions', 'ex08-scaled-dot-product.ipynb'));
  const manifest = manifestOf(sol, 'ex08-scaled-dot-product');
  const sub = JSON.parse(readFileSync(join(ROOT, 'exercises', 'ex08-scaled-dot-product.ipynb'), 'utf8'));
  // The learner edits the locked setup cell and a test cell, and adds a cell.
  const setup = sub.cells.find((c: { metadata: { nbgrader?: { grade_id: string } } }) => c.metadata.nbgrader?.grade_id === 'setup');
  setup.source = "import { maskedSoftmax } from 'attention-kit';";
  const testCell = sub.cells.find((c: { metadata: { nbgrader?: { grade_id: string } } }) => c.metadata.nbgrader?.grade_id === 'sdpa');
  testCell.source = 'console.log("all passed")';
  sub.cells.push({ cell_type: 'code', metadata: {}, source: 'const extra = 1;', outputs: [], execution_count: null });
  const plan = planCells(parseNotebook(JSON.stringify(sub), 'sub'), manifest);
  assert.ok(plan[0]!.source.includes('await initBackend()') && !plan[0]!.learner);
  assert.ok(!plan.some((c) => c.source.includes('all passed')));
  assert.ok(!plan.some((c) => c.source.includes("import { maskedSoftmax }")));
  assert.equal(plan[plan.length - 1]!.source, 'const extra = 1;');
});

test('malformed notebooks give one-line NotebookErrors', () => {
  for (const [text, pattern] of [
    ['{not json', /not a valid notebook \(not JSON/],
    ['[]', /top level is not an object/],
    ['{"nbformat": 3, "cells": []}', /nbformat 3, expected 4/],
    ['{"nbformat": 4, "metadata": {}}', /no cells list/],
    ['{"nbformat": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": 5}]}', /cell 0 has no text source/],
  ] as const) {
    assert.throws(
      () => parseNotebook(text, 'sub.ipynb'),
      (e: unknown) => e instanceof NotebookError && pattern.test(e.message) && !e.message.includes('\n'),
    );
  }
});

test('hidden-case references agree with independent identities', () => {
  const rng = new Rng(5);
  // masked softmax: kept weights of each row sum to 1 (or the row is all zeros), masked ones are 0.
  for (const c of FAMILIES.maskedSoftmax!(rng)) {
    const w = c.expected as Nd;
    const n = w.shape[w.shape.length - 1]!;
    for (let r = 0; r < w.data.length / n; r++) {
      const sum = w.data.slice(r * n, r * n + n).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-12 || sum === 0, `${c.label}: row ${r} sums to ${sum}`);
    }
  }
  // splitting then merging is the identity on the data (the merge family's inverse).
  for (const c of FAMILIES.splitHeads!(rng)) {
    const x = c.args[0] as Nd;
    const split = c.expected as Nd;
    const [b, h, n, dh] = split.shape as [number, number, number, number];
    const merged: number[] = [];
    for (let bi = 0; bi < b; bi++) for (let ni = 0; ni < n; ni++) for (let hi = 0; hi < h; hi++) for (let j = 0; j < dh; j++) merged.push(split.data[((bi * h + hi) * n + ni) * dh + j]!);
    assert.deepEqual(merged, x.data);
  }
  // online softmax from the first block: acc / l equals softmax(s) · v.
  const first = FAMILIES.onlineSoftmaxBlock!(rng)[0]!;
  const [, s, v] = first.args as [unknown, Nd, Nd];
  const exp = first.expected as { l: Nd; acc: Nd };
  const [nq, bk] = s.shape as [number, number];
  const dv = v.shape[1]!;
  for (let i = 0; i < nq; i++) {
    const row = s.data.slice(i * bk, i * bk + bk);
    const z = row.reduce((a, x) => a + Math.exp(x), 0);
    for (let j = 0; j < dv; j++) {
      const want = row.reduce((a, x, t) => a + (Math.exp(x) / z) * v.data[t * dv + j]!, 0);
      assert.ok(Math.abs(exp.acc.data[i * dv + j]! / exp.l.data[i]! - want) < 1e-9);
    }
  }
  // rollout rows sum to 1.
  for (const c of FAMILIES.attentionRollout!(rng)) {
    const r = c.expected as Nd;
    const n = r.shape[1]!;
    for (let i = 0; i < n; i++) assert.ok(Math.abs(r.data.slice(i * n, i * n + n).reduce((a, b) => a + b, 0) - 1) < 1e-9);
  }
});

test('compareValue accepts only real numbers of the right shape', () => {
  const want = nd([2, 2], [1, 2, 3, 4]);
  assert.equal(compareValue({ __tensor: [[2, 2], [1, 2, 3, 4.00001]] }, want, 1e-4, 0), null);
  assert.equal(compareValue([[1, 2], [3, 4]], want, 1e-4, 0), null);
  assert.match(compareValue({ __tensor: [[4], [1, 2, 3, 4]] }, want, 1e-4, 0)!, /expected shape \[2, 2\], received \[4\]/);
  assert.match(compareValue({ __tensor: [[2, 2], [1, 2, 3, 'NaN']] }, want, 1e-4, 0)!, /element 3 is NaN/);
  assert.match(compareValue({ __tensor: [[2, 2], [1, 2, 3, 'x']] }, want, 1e-4, 0)!, /other than numbers/);
  assert.match(compareValue('4/4', want, 1e-4, 0)!, /expected a tensor/);
  assert.match(compareValue(null, want, 1e-4, 0)!, /received nothing/);
  assert.match(compareValue([[1, 2], [3]], want, 1e-4, 0)!, /ragged/);
  assert.match(compareValue({ m: { __tensor: [[2, 2], [1, 2, 3, 4]] } }, { m: want, l: want }, 1e-4, 0)!, /missing field 'l'/);
});
