/**
 * Every committed notebook is valid nbformat 4, uses the tslab kernel and carries no outputs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/kit.js';

const FOLDERS = ['notebooks', 'exercises', 'solutions'];
const notebooks = FOLDERS.flatMap((folder) => {
  const dir = join(ROOT, folder);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ipynb')).map((f) => join(folder, f)) : [];
});

describe('committed notebooks', () => {
  it('there are lesson notebooks, starting with 00-setup', () => {
    assert.ok(notebooks.includes('notebooks/00-setup.ipynb'));
  });

  it('validate against the nbformat schema', () => {
    const script = 'import sys, nbformat\nfor p in sys.argv[1:]:\n    nbformat.validate(nbformat.read(p, as_version=4))\n';
    execFileSync(join(ROOT, '.venv', 'bin', 'python'), ['-c', script, ...notebooks], { cwd: ROOT, stdio: 'pipe' });
  });

  for (const path of notebooks) {
    it(`${path}: tslab kernel, no outputs, no execution counts`, () => {
      const nb = JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
      assert.equal(nb.nbformat, 4);
      assert.equal(nb.metadata?.kernelspec?.name, 'tslab', 'kernelspec must be tslab');
      for (const [i, cell] of nb.cells.entries()) {
        if (cell.cell_type !== 'code') continue;
        assert.deepEqual(cell.outputs, [], `cell ${i} has committed outputs`);
        assert.equal(cell.execution_count, null, `cell ${i} has an execution count`);
      }
      const sources = nb.cells.filter((c: { cell_type: string }) => c.cell_type === 'code').map((c: { source: string | string[] }) => (Array.isArray(c.source) ? c.source.join('') : c.source)).join('\n');
      assert.doesNotMatch(sources, /from ['"]\.\.?\/(\.\.\/)*lib/, 'notebooks import the kit by package name, not ../lib');
    });
  }
});
