/**
 * End to end, as a student sees it: JupyterLab from the project venv, Debian's Chromium driven by
 * playwright-core, a lesson run with Run ▸ Run All Cells on the TypeScript kernel. Checks that
 * the plotly heatmap was really drawn (SVG with the axis titles the notebook asks for), that no
 * cell failed, and saves screenshots under artifacts/browser/ (git-ignored).
 *
 * Kernels run with ATTN_QUICK=1 (the announced small budgets), as under CI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/kit.js';
import {
  TSLAB_DISPLAY_NAME,
  artifactPath,
  codeCells,
  launchChromium,
  looksLikeError,
  openNotebook,
  plotlyFigures,
  runAllCells,
  selectKernel,
  startJupyterLab,
  type Browser,
  type CellState,
  type JupyterLab,
} from './helpers/browser.js';

const RUN_TIMEOUT_MS = 5 * 60_000;

/** notebooks/04-*.ipynb (the coffee-shop heatmap); ATTN_BROWSER_LESSON overrides. */
function lessonUnderTest(): string {
  if (process.env.ATTN_BROWSER_LESSON) return process.env.ATTN_BROWSER_LESSON;
  const found = readdirSync(join(ROOT, 'notebooks')).filter((f) => /^04-.*\.ipynb$/.test(f)).sort();
  assert.ok(found.length > 0, 'lesson 04 (notebooks/04-*.ipynb) is missing');
  return `notebooks/${found[0]}`;
}

interface NotebookJson {
  cells: { cell_type: string; source: string | string[] }[];
}
const sourceOf = (c: { source: string | string[] }) => (Array.isArray(c.source) ? c.source.join('') : c.source);

/**
 * The axis titles of the first heatmap the notebook draws, read from its source: the figure in
 * the browser must show exactly these.
 */
function expectedHeatmapTitles(nb: NotebookJson): { xTitle: string; yTitle: string } {
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code') continue;
    const call = /heatmap\(\{[^]*?\}\)/.exec(sourceOf(cell))?.[0];
    if (!call) continue;
    const x = /xTitle:\s*(['"`])(.*?)\1/.exec(call)?.[2];
    const y = /yTitle:\s*(['"`])(.*?)\1/.exec(call)?.[2];
    if (x && y) return { xTitle: x, yTitle: y };
  }
  throw new Error('the lesson draws no heatmap with xTitle and yTitle');
}

/** Every failure the page shows: stderr with error text, error outputs, cells that never ran. */
function problemsIn(cells: CellState[]): string[] {
  const problems: string[] = [];
  for (const cell of cells) {
    const where = `cell ${cell.index + 1} (${cell.source.split('\n')[0]!.slice(0, 60)})`;
    for (const [mime, text] of cell.outputs) {
      if (mime === 'application/vnd.jupyter.error') problems.push(`${where}: error output: ${text.slice(0, 300)}`);
      if (mime === 'application/vnd.jupyter.stderr' && looksLikeError(text)) problems.push(`${where}: stderr: ${text.slice(0, 300)}`);
    }
    if (cell.source.trim() && !/\[\d+\]/.test(cell.prompt)) problems.push(`${where}: not executed (prompt ${cell.prompt})`);
  }
  return problems;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('the course in JupyterLab (headless Chromium)', () => {
  let lab: JupyterLab | undefined;
  let browser: Browser | undefined;

  before(async () => {
    lab = await startJupyterLab({ ATTN_QUICK: '1' });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  test('a lesson runs top to bottom on the TypeScript kernel and draws its heatmap', { timeout: 8 * 60_000 }, async () => {
    const lesson = lessonUnderTest();
    const file = join(ROOT, lesson);
    const nb = JSON.parse(readFileSync(file, 'utf8')) as NotebookJson;
    const expected = expectedHeatmapTitles(nb);
    const before = sha(file);
    const { page, errors } = await browser!.newPage();

    await openNotebook(page, lab!.lab(lesson));
    await selectKernel(page, 'tslab', TSLAB_DISPLAY_NAME);
    const seconds = await runAllCells(page, RUN_TIMEOUT_MS);
    const cells = await codeCells(page);
    console.log(`# ${lesson}: ${cells.length} code cells ran in ${seconds.toFixed(1)} s in JupyterLab`);

    const problems = problemsIn(cells);
    assert.deepEqual(problems, [], `cells failed in JupyterLab:\n${problems.join('\n')}\n--- server log ---\n${lab!.log().slice(-3000)}`);

    // The heatmap as drawn: SVG layers, an image layer with the cells, the titles from the source.
    const figures = await plotlyFigures(page, '.jp-NotebookPanel');
    assert.ok(figures.length > 0, 'no plotly figure rendered');
    const heat = figures.find((f) => f.xTitle === expected.xTitle && f.yTitle === expected.yTitle);
    assert.ok(heat, `no figure with axis titles '${expected.xTitle}' / '${expected.yTitle}'; drawn: ${JSON.stringify(figures.map((f) => [f.xTitle, f.yTitle]))}`);
    assert.ok(heat.traceTypes.includes('heatmap'), `figure has traces ${heat.traceTypes.join(', ')}, no heatmap`);
    assert.ok(heat.svgCount >= 1, 'the heatmap has no SVG layer');
    assert.ok(heat.heatmapImages >= 1, 'the heatmap drew no cells (no image in its heatmap layer)');
    assert.ok(heat.xTicks.length > 0 && heat.yTicks.length > 0, 'the heatmap has no tick labels');
    assert.ok(heat.width > 200 && heat.height > 150, `the heatmap is ${heat.width}×${heat.height} px`);

    const figure = page.locator('.jp-NotebookPanel .js-plotly-plot').filter({ has: page.locator('.xtitle', { hasText: expected.xTitle }) }).first();
    await figure.scrollIntoViewIfNeeded();
    const name = lesson.split('/').pop()!.replace(/\.ipynb$/, '');
    await page.screenshot({ path: artifactPath('browser', `jupyterlab-${name}.png`) });
    await figure.screenshot({ path: artifactPath('browser', `jupyterlab-${name}-heatmap.png`) });

    // JupyterLab's own console: no uncaught exceptions from the renderers.
    const uncaught = errors.filter((e) => e.startsWith('uncaught'));
    assert.deepEqual(uncaught, [], 'uncaught exceptions in the page');
    assert.equal(sha(file), before, `${lesson} was modified on disk by the test`);
    await page.close();
  });
});
