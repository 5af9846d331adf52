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
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/kit.js';
import {
  CURRENT_NOTEBOOK,
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
  expectedHeatmapTitles,
  type JupyterLab,
  type NotebookJson,
} from './helpers/browser.js';

const RUN_TIMEOUT_MS = 5 * 60_000;

/** notebooks/04-*.ipynb (the coffee-shop heatmap); ATTN_BROWSER_LESSON overrides. */
function lessonUnderTest(): string {
  if (process.env.ATTN_BROWSER_LESSON) return process.env.ATTN_BROWSER_LESSON;
  const found = readdirSync(join(ROOT, 'notebooks')).filter((f) => /^04-.*\.ipynb$/.test(f)).sort();
  assert.ok(found.length > 0, 'lesson 04 (notebooks/04-*.ipynb) is missing');
  return `notebooks/${found[0]}`;
}

/**
 * An exercise notebook as shipped to students (its functions not written yet): the first
 * .ipynb under exercises/ (nbgrader's exercises/<assignment>/<name>.ipynb layout or flat);
 * ATTN_BROWSER_EXERCISE overrides.
 */
function exerciseUnderTest(): string {
  if (process.env.ATTN_BROWSER_EXERCISE) return process.env.ATTN_BROWSER_EXERCISE;
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      if (name.startsWith('.')) continue;
      const rel = `${dir}/${name}`;
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.ipynb')) found.push(rel);
    }
  };
  if (existsSync(join(ROOT, 'exercises'))) walk('exercises');
  assert.ok(found.length > 0, 'no exercise notebook under exercises/');
  return found[0]!;
}

const textOf = (cell: CellState, mime: string) => cell.outputs.filter(([m]) => m === mime).map(([, t]) => t).join('');

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
    const figures = await plotlyFigures(page, CURRENT_NOTEBOOK);
    assert.ok(figures.length > 0, 'no plotly figure rendered');
    const heat = figures.find((f) => f.xTitle === expected.xTitle && f.yTitle === expected.yTitle);
    assert.ok(heat, `no figure with axis titles '${expected.xTitle}' / '${expected.yTitle}'; drawn: ${JSON.stringify(figures.map((f) => [f.xTitle, f.yTitle]))}`);
    assert.ok(heat.traceTypes.includes('heatmap'), `figure has traces ${heat.traceTypes.join(', ')}, no heatmap`);
    assert.ok(heat.svgCount >= 1, 'the heatmap has no SVG layer');
    assert.ok(heat.heatmapImages >= 1, 'the heatmap drew no cells (no image in its heatmap layer)');
    assert.ok(heat.xTicks.length > 0 && heat.yTicks.length > 0, 'the heatmap has no tick labels');
    assert.ok(heat.width > 200 && heat.height > 150, `the heatmap is ${heat.width}×${heat.height} px`);

    const figure = page.locator(`${CURRENT_NOTEBOOK} .js-plotly-plot`).filter({ has: page.locator('.xtitle', { hasText: expected.xTitle }) }).first();
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

  test('an exercise notebook: the unsolved exercise fails a visible test with its friendly message', { timeout: 8 * 60_000 }, async () => {
    const exercise = exerciseUnderTest();
    const file = join(ROOT, exercise);
    const before = sha(file);
    const { page, errors } = await browser!.newPage();

    await openNotebook(page, lab!.lab(exercise));
    await selectKernel(page, 'tslab', TSLAB_DISPLAY_NAME);
    const seconds = await runAllCells(page, RUN_TIMEOUT_MS);
    const cells = await codeCells(page);
    const ran = cells.filter((c) => /\[\d+\]/.test(c.prompt));
    console.log(`# ${exercise}: ${ran.length} of ${cells.length} code cells ran in ${seconds.toFixed(1)} s, then Run All stopped`);

    // Run All stops at the first failing cell: it must be a visible test (check(...)) that prints
    // "✗ <test name>" and the reason on stdout, not a crash or a TypeScript error.
    const failing = cells.find((c) => textOf(c, 'application/vnd.jupyter.stdout').match(/^✗ /m));
    assert.ok(failing, `no visible test failed; outputs:\n${cells.map((c) => c.outputs.map(([m, t]) => `${m}: ${t.slice(0, 200)}`).join('\n')).join('\n')}`);
    const stdout = textOf(failing, 'application/vnd.jupyter.stdout');
    const friendly = /^✗ (.+)\n\s+(\S.*)$/m.exec(stdout);
    assert.ok(friendly, `the failing test printed no reason under its ✗ line:\n${stdout}`);
    assert.doesNotMatch(friendly[2]!, /evalmachine|^\s*at /, 'the friendly message must not be a stack trace');
    assert.match(failing.source, /\bcheck\(/, 'the failing cell is a visible test cell');
    assert.match(textOf(failing, 'application/vnd.jupyter.stderr'), /check failed/, 'the cell fails (so nbgrader counts it) because the check failed');
    const earlier = cells.filter((c) => c.index < failing.index);
    assert.deepEqual(problemsIn(earlier), [], 'cells before the first visible test must run cleanly');
    for (const c of cells) assert.doesNotMatch(textOf(c, 'application/vnd.jupyter.stderr'), /^\d+:\d+ - /m, `cell ${c.index + 1}: TypeScript error`);
    console.log(`# friendly message shown: ✗ ${friendly[1]} / ${friendly[2]}`);

    const cell = page.locator(`${CURRENT_NOTEBOOK} .jp-CodeCell`).nth(failing.index);
    await cell.scrollIntoViewIfNeeded();
    const name = exercise.split('/').pop()!.replace(/\.ipynb$/, '');
    await page.screenshot({ path: artifactPath('browser', `jupyterlab-exercise-${name}.png`) });
    await cell.screenshot({ path: artifactPath('browser', `jupyterlab-exercise-${name}-failing-cell.png`) });

    assert.deepEqual(errors.filter((e) => e.startsWith('uncaught')), [], 'uncaught exceptions in the page');
    assert.equal(sha(file), before, `${exercise} was modified on disk by the test`);
    await page.close();
  });
});
