/**
 * lib/viz: figure specs are valid plotly (checked by plotly's own Python validators in .venv),
 * labels and shapes match the data, bad input fails with a clear message, and the MIME bundle
 * carries plotly JSON plus an offline HTML fallback.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend.js';
import {
  PLOTLY_MIME,
  barChart,
  figureBundle,
  figureToHtml,
  headView,
  heatmap,
  heatmapGrid,
  inKernel,
  lineChart,
  maskAllowed,
  maskGrid,
  maskPicture,
  patchAttention,
  showFigure,
  writeFigureHtml,
  type Figure,
  type HeatmapTrace,
} from '../lib/viz/index.js';
import { ROOT, assertNoLeaks } from './helpers/kit.js';

before(async () => {
  await initBackend({ prefer: 'cpu', verbose: false });
});

const tokens = ['I', 'went', 'to', 'the', 'coffee', 'shop', 'the'];

/** Row-stochastic weights from a seeded formula (not from the library under test). */
function weights(nq: number, nk: number, salt = 0): number[][] {
  return Array.from({ length: nq }, (_, i) => {
    const raw = Array.from({ length: nk }, (_, j) => Math.exp(Math.sin(1.3 * i + 0.7 * j + salt)));
    const s = raw.reduce((a, b) => a + b, 0);
    return raw.map((r) => r / s);
  });
}

/** Every <script> element's src attribute. */
function scriptSources(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']?([^"' >]+)/gi)].map((m) => m[1]!);
}

describe('heatmap', () => {
  test('one heatmap trace, z rows × columns match the y and x labels, repeated tokens kept apart', () => {
    const z = weights(3, tokens.length);
    const fig = heatmap({ z, x: tokens, y: ['q0', 'q1', 'q2'], title: 'w', xTitle: 'key', yTitle: 'query' });
    assert.equal(fig.data.length, 1);
    const t = fig.data[0] as HeatmapTrace;
    assert.equal(t.type, 'heatmap');
    assert.equal(t.z.length, 3);
    assert.ok(t.z.every((row) => row.length === tokens.length));
    assert.deepEqual(t.x, [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(fig.layout.xaxis?.ticktext, tokens); // 'the' appears twice, at 3 and 6
    assert.deepEqual(fig.layout.xaxis?.tickvals, [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(fig.layout.yaxis?.ticktext, ['q0', 'q1', 'q2']);
    assert.equal(fig.layout.yaxis?.autorange, 'reversed');
    assert.equal(fig.layout.title?.text, 'w');
    // hover: both labels per cell and the value
    assert.equal(t.text?.length, 3);
    assert.equal(t.text?.[2]?.[6], 'query: q2<br>key: the');
    assert.match(t.hovertemplate ?? '', /%\{text\}.*%\{z:\.3f\}/);
    // values carried over exactly (atol 0)
    assert.deepEqual(t.z, z);
  });

  test('tensor input gives the same figure as nested arrays, and leaks nothing', async () => {
    const z = weights(4, 4, 1);
    const fromArray = heatmap({ z, title: 't' });
    const fromTensor = await assertNoLeaks(() => {
      const zt = tf.tensor([z]);
      const fig = heatmap({ z: zt, title: 't' });
      zt.dispose();
      return fig;
    });
    const a = (fromArray.data[0] as HeatmapTrace).z.flat() as number[];
    const b = (fromTensor.data[0] as HeatmapTrace).z.flat() as number[];
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-6, `cell ${i}: ${v} vs ${b[i]} (atol 1e-6, float32 round trip)`));
    assert.deepEqual(fromArray.layout.xaxis?.ticktext, ['0', '1', '2', '3']);
  });

  test('masked (-Infinity) scores become gaps and signed data gets a diverging scale centred at 0', () => {
    const fig = heatmap({ z: [[1, -Infinity], [-2, 0.5]], title: 's', valueName: 'score' });
    const t = fig.data[0] as HeatmapTrace;
    assert.deepEqual(t.z, [[1, null], [-2, 0.5]]);
    assert.equal(t.zmin, -2);
    assert.equal(t.zmax, 2);
    assert.equal(t.colorscale, 'RdBu');
    assert.match(t.hovertemplate ?? '', /score = /);
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(fig)));
  });

  test('bad input fails with a message naming the problem', () => {
    assert.throws(() => heatmap({ z: weights(2, 3), x: ['a', 'b'], title: 't' }), /2 x labels for 3 columns/);
    assert.throws(() => heatmap({ z: weights(2, 3), y: ['a', 'b', 'c'], title: 't' }), /3 y labels for 2 rows/);
    assert.throws(() => heatmap({ z: [[1, 2], [3]], title: 't' }), /row 1 has 1 values, row 0 has 2/);
    assert.throws(() => heatmap({ z: [[1, 'x' as unknown as number]], title: 't' }), /cell \[0\]\[1\] is string/);
    assert.throws(() => heatmap({ z: [], title: 't' }), /non-empty matrix/);
    const t3 = tf.zeros([2, 3, 3]);
    assert.throws(() => heatmap({ z: t3, title: 't' }), /expected a rank-2 tensor.*\[2, 3, 3\]/);
    t3.dispose();
  });
});

describe('headView', () => {
  const L = 2;
  const H = 3;
  const n = 4;
  const stack = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => weights(n, n, 10 * l + h)));
  const toks = ['a', 'b', 'a', 'c'];

  test('picker view: one trace per (layer, head), only the chosen one visible, a drop-down to switch', () => {
    const fig = headView(stack, { tokens: toks, layer: 1, head: 2, title: 'heads' });
    assert.equal(fig.data.length, L * H);
    const visible = fig.data.map((t) => t.visible);
    assert.deepEqual(visible, [false, false, false, false, false, true]);
    assert.deepEqual((fig.data[5] as HeatmapTrace).z, stack[1]![2]);
    assert.deepEqual((fig.data[1] as HeatmapTrace).z, stack[0]![1]);
    const menu = (fig.layout.updatemenus as { buttons: { label: string; args: [{ visible: boolean[] }, unknown] }[]; active: number }[])[0]!;
    assert.equal(menu.buttons.length, L * H);
    assert.equal(menu.active, 5);
    assert.equal(menu.buttons[4]!.label, 'layer 1 · head 1');
    assert.deepEqual(menu.buttons[4]!.args[0].visible, [false, false, false, false, true, false]);
    assert.match(fig.layout.title?.text ?? '', /layer 1 · head 2/);
    assert.deepEqual(fig.layout.xaxis?.ticktext, toks);
  });

  test('grid view: every head in its own subplot with its own axes and one shared colour scale', () => {
    const fig = headView(stack, { tokens: toks, grid: true });
    assert.equal(fig.data.length, L * H);
    const axes = fig.data.map((t) => `${t.xaxis}/${t.yaxis}`);
    assert.equal(new Set(axes).size, L * H);
    for (let k = 2; k <= L * H; k++) {
      assert.ok(fig.layout[`xaxis${k}`], `layout.xaxis${k} missing`);
      assert.ok(fig.layout[`yaxis${k}`], `layout.yaxis${k} missing`);
    }
    assert.equal(fig.data.filter((t) => t.showscale === true).length, 1);
    const zmins = new Set(fig.data.map((t) => (t as HeatmapTrace).zmin));
    assert.equal(zmins.size, 1);
    // one layer only when asked
    const one = headView(stack, { tokens: toks, grid: true, layer: 1 });
    assert.equal(one.data.length, H);
    assert.deepEqual((one.data[2] as HeatmapTrace).z, stack[1]![2]);
  });

  test('a [1, heads, nq, nk] tensor (multiHeadAttention weights) reads as one layer', async () => {
    const fig = await assertNoLeaks(() => {
      const w = tf.tensor([stack[0]!]);
      const f = headView(w, { tokens: toks });
      w.dispose();
      return f;
    });
    assert.equal(fig.data.length, H);
    assert.equal(fig.data[0]!.name, 'head 0');
  });

  test('bad input fails clearly', () => {
    assert.throws(() => headView(stack, { tokens: toks, head: 3 }), /head 3 out of range \(the weights have 3 head\(s\)\)/);
    assert.throws(() => headView(stack, { tokens: toks, layer: 2 }), /layer 2 out of range/);
    assert.throws(() => headView(stack, { tokens: ['a', 'b'] }), /2 x labels for 4 columns/);
    assert.throws(() => headView([[1, 2, 3]], { tokens: ['a'] }), /row 0 has 3 values|1 x labels for 3 columns/);
    assert.throws(() => headView([stack[0]![0]!, weights(3, 4)], { tokens: toks }), /head 1 is 3×4, expected 4×4/);
  });
});

describe('maskPicture', () => {
  test('a causal mask: the allowed cells are exactly j ≤ i, and the title counts them', () => {
    const n = 5;
    const causal = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j <= i));
    const fig = maskPicture(causal, { title: 'causal' });
    const t = fig.data[0] as HeatmapTrace;
    t.z.forEach((row, i) => row.forEach((v, j) => assert.equal(v, j <= i ? 1 : 0, `cell ${i},${j}`)));
    assert.match(fig.layout.title?.text ?? '', /causal \(15 of 25 pairs, 60\.0%\)/);
    assert.equal(t.showscale, false);
    assert.deepEqual(t.customdata, t.z.map((row) => row.map((v) => (v ? 'may attend' : 'blocked'))));
  });

  test('additive masks (0 / -Infinity or -1e9) read the other way round', () => {
    const additive = [[0, -Infinity, -1e9], [0, 0, -1e9], [0, 0, 0]];
    assert.deepEqual(maskAllowed(additive), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
    assert.deepEqual(maskAllowed([[0, 0], [0, 0]], true), [[1, 1], [1, 1]]);
    assert.deepEqual(maskAllowed([[0, 0], [0, 0]]), [[0, 0], [0, 0]]);
  });

  test('maskGrid: one panel per mask, each with its kept fraction in the title', () => {
    const causal = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (j <= i ? 1 : 0)));
    const band = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (Math.abs(i - j) <= 1 ? 1 : 0)));
    const fig = maskGrid([{ mask: causal, title: 'causal' }, { mask: band, title: 'window 1' }], { title: 'masks' });
    assert.equal(fig.data.length, 2);
    assert.deepEqual((fig.data[1] as HeatmapTrace).z, band);
    const titles = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
    assert.deepEqual(titles, ['<b>causal (62.5%)</b>', '<b>window 1 (62.5%)</b>']);
    assert.throws(() => maskGrid([], { title: 'x' }), /at least one mask/);
  });

  test('labels are checked against the mask size', () => {
    assert.throws(() => maskPicture([[1, 0], [1, 1]], { title: 'm', tokens: ['a', 'b', 'c'] }), /3 x labels for 2 columns/);
  });
});

describe('lineChart and barChart', () => {
  test('one scatter trace per series, log axes when asked, gaps stay null', () => {
    const fig = lineChart({
      series: [
        { name: 'exact', x: [64, 128, 256], y: [1, 4, 16] },
        { name: 'linear', x: [64, 128, 256], y: [1, 2, null], dash: 'dash' },
      ],
      title: 'time',
      xTitle: 'n',
      yTitle: 'seconds',
      logX: true,
      logY: true,
    });
    assert.deepEqual(fig.data.map((t) => t.type), ['scatter', 'scatter']);
    assert.deepEqual(fig.data.map((t) => t.name), ['exact', 'linear']);
    assert.deepEqual(fig.data[1]!.y, [1, 2, null]);
    assert.equal(fig.layout.xaxis?.type, 'log');
    assert.equal(fig.layout.yaxis?.type, 'log');
    assert.equal(fig.layout.xaxis?.title?.text, 'n');
  });

  test('bad series fail clearly', () => {
    assert.throws(() => lineChart({ series: [], title: 't' }), /at least one series/);
    assert.throws(() => lineChart({ series: [{ name: 'a', x: [1, 2], y: [1] }], title: 't' }), /series 0 \("a"\): 2 x values but 1 y values/);
    assert.throws(() => lineChart({ series: [{ name: 'a', x: [1, 2], y: [1, 0] }], title: 't', logY: true }), /logY needs positive values, y\[1\] = 0/);
    assert.throws(() => lineChart({ series: [{ name: 'a', x: [0, 2], y: [1, 1] }], title: 't', logX: true }), /logX needs positive numbers, x\[0\] = 0/);
    assert.throws(() => lineChart({ series: [{ name: 'a', x: [1], y: [NaN] }], title: 't' }), /y\[0\] is NaN/);
  });

  test('bars: one trace per series with labels as ticks; mismatched lengths fail', () => {
    const fig = barChart({ labels: ['s1', 's2', 's1'], series: [{ name: 'weight', values: [0.2, 0.5, 0.3] }], title: 'b', horizontal: true });
    assert.equal(fig.data[0]!.type, 'bar');
    assert.deepEqual(fig.data[0]!.x, [0.2, 0.5, 0.3]);
    assert.deepEqual(fig.layout.yaxis?.ticktext, ['s1', 's2', 's1']);
    assert.throws(() => barChart({ labels: ['a'], series: [{ name: 'w', values: [1, 2] }], title: 'b' }), /2 values for 1 labels/);
  });
});

describe('patchAttention and heatmapGrid', () => {
  test('the overlay has one cell per patch centred on it', () => {
    const image = Array.from({ length: 8 }, (_, r) => Array.from({ length: 12 }, (_, c) => (r + c) % 2));
    const w = Array.from({ length: 6 }, (_, i) => i / 15);
    const fig = patchAttention({ image, weights: w, patchSize: 4, title: 'p' });
    const overlay = fig.data[1] as HeatmapTrace;
    assert.deepEqual(overlay.z, [w.slice(0, 3), w.slice(3, 6)]);
    assert.deepEqual(overlay.x, [1.5, 5.5, 9.5]);
    assert.deepEqual(overlay.y, [1.5, 5.5]);
    assert.throws(() => patchAttention({ image, weights: w.slice(1), patchSize: 4, title: 'p' }), /5 weights for 2×3 = 6 patches/);
    assert.throws(() => patchAttention({ image, weights: w, patchSize: 5, title: 'p' }), /not a whole number of 5×5 patches/);
  });

  test('grid panels keep their own labels and titles', () => {
    const fig = heatmapGrid(
      [
        { z: weights(2, 3), x: ['a', 'b', 'c'], y: ['p', 'q'], title: 'dot' },
        { z: weights(2, 3, 1), x: ['a', 'b', 'c'], y: ['p', 'q'], title: 'additive' },
      ],
      { title: 'scores' },
    );
    assert.equal(fig.data.length, 2);
    assert.equal(fig.data[1]!.xaxis, 'x2');
    assert.deepEqual((fig.layout.xaxis2 as { ticktext: string[] }).ticktext, ['a', 'b', 'c']);
    const titles = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
    assert.deepEqual(titles, ['<b>dot</b>', '<b>additive</b>']);
    assert.throws(() => heatmapGrid([], { title: 'x' }), /at least one panel/);
  });
});

describe('rendering', () => {
  const fig = heatmap({ z: weights(2, 2), x: ['a', '</script><b>'], y: ['q', 'r'], title: 'render' });

  test('outside a kernel showFigure displays nothing and returns the bundle: plotly JSON + offline HTML', () => {
    assert.equal(inKernel(), false);
    const bundle = showFigure(fig)!;
    assert.deepEqual(Object.keys(bundle).sort(), [PLOTLY_MIME, 'text/html', 'text/plain'].sort());
    assert.equal(PLOTLY_MIME, 'application/vnd.plotly.v1+json');
    assert.deepEqual(bundle[PLOTLY_MIME].data, fig.data);
    assert.deepEqual(bundle[PLOTLY_MIME].layout, fig.layout);
    const html = bundle['text/html'];
    assert.ok(html.includes('plotly.js v3'), 'the HTML fallback inlines plotly.js from node_modules');
    assert.deepEqual(scriptSources(html).filter((s) => /^(https?:)?\/\//i.test(s)), [], 'no script loaded from the network');
    // a label containing </script> must not end the script element early
    const afterBundle = html.slice(html.lastIndexOf('<div id="attention-kit-fig-'));
    assert.equal((afterBundle.match(/<\/script>/g) ?? []).length, 1);
    assert.match(bundle['text/plain'], /render \(1 trace\)/);
    // without inlining, the fallback is small and relies on window.Plotly
    const light = figureBundle(fig, { inlinePlotly: false })['text/html'];
    assert.ok(light.length < 20_000, `light HTML is ${light.length} chars`);
    assert.ok(light.includes('window.Plotly.newPlot'));
  });

  test('writeFigureHtml writes a standalone page with plotly.js inlined and the figure data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'viz-'));
    const path = writeFigureHtml(fig, join(dir, 'sub', 'fig.html'));
    const html = readFileSync(path, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>render<\/title>/);
    assert.ok(html.includes('plotly.js v3'));
    assert.ok(html.includes('"ticktext":["a","\\u003c/script>\\u003cb>"]'));
    assert.deepEqual(scriptSources(html), []);
    const stripIds = (h: string) => h.replace(/attention-kit-fig-[\w-]+/g, 'ID');
    assert.equal(stripIds(figureToHtml(fig)), stripIds(html));
  });

  test('non-figures are rejected', () => {
    assert.throws(() => showFigure({ data: 'x' } as unknown as Figure), /expected a figure \{ data/);
    assert.throws(() => figureToHtml({ data: [{}], layout: {} } as unknown as Figure), /trace 0 has no 'type'/);
  });
});

describe('plotly schema', () => {
  test("every builder's output passes plotly's own validators (Python plotly in .venv)", () => {
    const python = join(ROOT, '.venv', 'bin', 'python');
    assert.ok(existsSync(python), `${python} missing: run npm run setup`);
    const stack = [[weights(3, 3), weights(3, 3, 1)]];
    const figs: Figure[] = [
      heatmap({ z: weights(3, 4), x: ['a', 'b', 'c', 'd'], y: ['x', 'y', 'z'], title: 'h', showValues: true }),
      headView(stack, { tokens: ['a', 'b', 'c'] }),
      headView(stack, { tokens: ['a', 'b', 'c'], grid: true }),
      maskPicture([[1, 0], [1, 1]], { title: 'causal' }),
      maskGrid([{ mask: [[1, 0], [1, 1]], title: 'a' }, { mask: [[1, 1], [1, 1]], title: 'b' }], { title: 'g' }),
      lineChart({ series: [{ name: 's', x: [1, 2, 4], y: [1, null, 3] }], title: 'l', logX: true, logY: true }),
      barChart({ labels: ['a', 'b'], series: [{ name: 's', values: [1, 2] }, { name: 't', values: [2, 1] }], title: 'b' }),
      barChart({ labels: ['a', 'b'], series: [{ name: 's', values: [1, 2] }], title: 'b', horizontal: true }),
      patchAttention({ image: [[0, 1], [1, 0]], weights: [[0.3]], patchSize: 2, title: 'p' }),
      heatmapGrid([{ z: [[1]], title: 'a' }, { z: [[2]], title: 'b' }, { z: [[3]], title: 'c' }], { title: 'g', cols: 2 }),
    ];
    const script = [
      'import json, sys',
      'import plotly.graph_objects as go',
      'for i, f in enumerate(json.load(sys.stdin)):',
      '    try:',
      '        go.Figure(f)',
      '    except Exception as e:',
      '        print(f"figure {i}: {e}"); sys.exit(1)',
      'print("ok", i + 1)',
    ].join('\n');
    const r = spawnSync(python, ['-c', script], { input: JSON.stringify(figs), encoding: 'utf8' });
    assert.equal(r.status, 0, `plotly rejected a figure: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout.trim(), `ok ${figs.length}`);
    // and the validator really validates: an unknown property is rejected
    const bad = spawnSync(python, ['-c', script], { input: JSON.stringify([{ data: [{ type: 'heatmap', z: [[1]], colour: 'x' }], layout: {} }]), encoding: 'utf8' });
    assert.equal(bad.status, 1);
  });
});
