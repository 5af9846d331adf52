/**
 * Figure builders: each returns a plain plotly spec `{ data, layout }` that `showFigure` renders
 * in JupyterLab and `writeFigureHtml` saves as a standalone page. They check their inputs up
 * front (rectangular matrices, one label per row and column) and say what is wrong.
 *
 * Token labels go on numeric axes with `tickvals`/`ticktext` rather than categorical axes:
 * plotly merges repeated categories, and sentences repeat words ("the", "I").
 */
import type { Axis, BarTrace, Figure, HeatmapTrace, Layout, MatrixLike, ScatterTrace, Trace } from './types.js';

// ---------------------------------------------------------------------------------------------
// Input normalisation

interface TensorLike {
  arraySync(): unknown;
  shape: number[];
}

function isTensorLike(value: unknown): value is TensorLike {
  return typeof value === 'object' && value !== null && typeof (value as TensorLike).arraySync === 'function' && Array.isArray((value as TensorLike).shape);
}

function describe(value: unknown): string {
  if (isTensorLike(value)) return `a tensor of shape [${value.shape.join(', ')}]`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return value === null ? 'null' : typeof value;
}

/** Nested arrays from a tensor (squeezing leading size-1 axes down to `rank`) or arrays as given. */
function toNested(what: string, value: unknown, rank: number): unknown {
  if (!isTensorLike(value)) return value;
  let shape = value.shape.slice();
  while (shape.length > rank && shape[0] === 1) shape = shape.slice(1);
  if (shape.length !== rank) {
    throw new Error(`${what}: expected a rank-${rank} tensor (leading size-1 axes are dropped), got shape [${value.shape.join(', ')}]`);
  }
  let nested = value.arraySync();
  for (let i = value.shape.length; i > rank; i--) nested = (nested as unknown[])[0];
  return nested;
}

/** A rectangular number matrix (booleans become 1/0); throws naming the first bad row or cell. */
export function toMatrix(what: string, value: MatrixLike | unknown): number[][] {
  const nested = toNested(what, value, 2);
  if (!Array.isArray(nested) || nested.length === 0) throw new Error(`${what}: expected a non-empty matrix (rows of numbers), got ${describe(nested)}`);
  const rows = nested as unknown[];
  const width = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : -1;
  return rows.map((row, i) => {
    if (!Array.isArray(row)) throw new Error(`${what}: row ${i} is ${describe(row)}, expected an array of numbers`);
    if (row.length !== width || width === 0) throw new Error(`${what}: row ${i} has ${row.length} values, row 0 has ${width} (the matrix must be rectangular and non-empty)`);
    return row.map((cell, j) => {
      if (typeof cell === 'boolean') return cell ? 1 : 0;
      if (typeof cell !== 'number') throw new Error(`${what}: cell [${i}][${j}] is ${describe(cell)}, expected a number`);
      return cell;
    });
  });
}

/** Attention weights as [layers][heads][nq][nk] from rank 2, 3 or 4 input. */
export function toLayerHeadStack(what: string, value: unknown): number[][][][] {
  let nested: unknown = value;
  let rank: number;
  if (isTensorLike(value)) {
    rank = value.shape.length;
    if (rank < 2 || rank > 4) throw new Error(`${what}: expected a tensor [nq, nk], [heads, nq, nk] or [layers, heads, nq, nk], got shape [${value.shape.join(', ')}]`);
    nested = value.arraySync();
  } else {
    rank = 0;
    let probe: unknown = value;
    while (Array.isArray(probe)) {
      rank++;
      probe = probe[0];
    }
    if (rank < 2 || rank > 4) throw new Error(`${what}: expected nested arrays [nq][nk], [heads][nq][nk] or [layers][heads][nq][nk], got ${describe(value)} of depth ${rank}`);
  }
  const asLayers = (rank === 2 ? [[nested]] : rank === 3 ? [nested] : nested) as unknown[][];
  return asLayers.map((layer, l) => {
    if (!Array.isArray(layer)) throw new Error(`${what}: layer ${l} is ${describe(layer)}`);
    return layer.map((head, h) => toMatrix(`${what} (layer ${l}, head ${h})`, head));
  });
}

function checkLabels(what: string, labels: readonly string[] | undefined, count: number, axis: string): string[] {
  if (labels === undefined) return Array.from({ length: count }, (_, i) => String(i));
  if (!Array.isArray(labels)) throw new Error(`${what}: ${axis} labels must be an array of strings`);
  if (labels.length !== count) {
    throw new Error(`${what}: ${labels.length} ${axis} labels for ${count} ${axis === 'x' ? 'columns' : 'rows'} (z is ${axis === 'x' ? `? × ${count}` : `${count} × ?`})`);
  }
  return labels.map(String);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function finiteExtent(z: readonly (readonly number[])[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of z) for (const v of row) if (Number.isFinite(v)) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === Infinity ? [0, 1] : [lo, hi];
}

/** Non-finite values (masked scores, -inf) become null, which plotly draws as a gap. */
function gapsForNonFinite(z: readonly (readonly number[])[]): (number | null)[][] {
  return z.map((row) => row.map((v) => (Number.isFinite(v) ? v : null)));
}

/** Pixel size for a heatmap with this many columns and rows: roughly square cells. */
function autoSize(cols: number, rows: number, longestLabel: number): { width: number; height: number } {
  const cell = Math.max(12, Math.min(40, Math.floor(560 / Math.max(cols, rows))));
  const labelRoom = Math.min(160, 20 + 7 * longestLabel);
  return { width: Math.min(1000, Math.max(320, 120 + labelRoom + cols * cell)), height: Math.min(900, Math.max(260, 100 + labelRoom + rows * cell)) };
}

function tokenAxis(title: string | undefined, labels: string[], extra: Partial<Axis> = {}): Axis {
  return {
    ...(title ? { title: { text: title } } : {}),
    tickvals: range(labels.length),
    ticktext: labels,
    tickangle: labels.some((t) => t.length > 2) && labels.length > 6 ? -45 : 0,
    showgrid: false,
    zeroline: false,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// heatmap

export interface HeatmapOptions {
  /** Rows are the y labels (queries), columns the x labels (keys). Tensors of rank 2 (or with
   *  leading size-1 axes) are accepted. Non-finite cells (masked scores) are drawn as gaps. */
  z: MatrixLike;
  /** Column labels, e.g. key tokens (defaults to 0, 1, ...). */
  x?: readonly string[];
  /** Row labels, e.g. query tokens (defaults to 0, 1, ...). */
  y?: readonly string[];
  title: string;
  xTitle?: string;
  yTitle?: string;
  /** A plotly colorscale name; default Blues for non-negative data, RdBu centred at 0 otherwise. */
  colorscale?: string;
  zmin?: number;
  zmax?: number;
  /** Write each value in its cell (good up to ~12×12). */
  showValues?: boolean;
  /** d3-format of values in cells and hover, default '.3f'. */
  valueFormat?: string;
  /** What a value is called in the hover box, default 'weight'. */
  valueName?: string;
  width?: number;
  height?: number;
}

/** The heatmap trace and axes for one panel (shared by `heatmap` and `heatmapGrid`). */
function heatmapPanel(options: HeatmapOptions, what = 'heatmap'): { trace: HeatmapTrace; xaxis: Axis; yaxis: Axis; x: string[]; y: string[] } {
  const z = toMatrix(`${what} z`, options.z);
  const x = checkLabels(what, options.x, z[0]!.length, 'x');
  const y = checkLabels(what, options.y, z.length, 'y');
  const [lo, hi] = finiteExtent(z);
  const signed = lo < 0;
  const fmt = options.valueFormat ?? '.3f';
  const rowName = options.yTitle ?? 'row';
  const colName = options.xTitle ?? 'column';
  const trace: HeatmapTrace = {
    type: 'heatmap',
    z: gapsForNonFinite(z),
    x: range(x.length),
    y: range(y.length),
    text: y.map((yl) => x.map((xl) => `${rowName}: ${yl}<br>${colName}: ${xl}`)),
    hovertemplate: `%{text}<br>${options.valueName ?? 'weight'} = %{z:${fmt}}<extra></extra>`,
    colorscale: options.colorscale ?? (signed ? 'RdBu' : 'Blues'),
    reversescale: options.colorscale === undefined && signed,
    zmin: options.zmin ?? (signed ? -Math.max(-lo, hi) : Math.min(lo, 0)),
    zmax: options.zmax ?? (signed ? Math.max(-lo, hi) : hi > lo ? hi : lo + 1),
    xgap: 1,
    ygap: 1,
  };
  if (options.showValues) {
    trace.texttemplate = `%{z:${fmt.replace('3', '2')}}`;
    trace.textfont = { size: 10 };
  }
  return {
    trace,
    xaxis: tokenAxis(options.xTitle, x),
    yaxis: tokenAxis(options.yTitle, y, { autorange: 'reversed', tickangle: 0 }),
    x,
    y,
  };
}

/**
 * An attention (or score) heatmap: one row per query, one column per key, labels on both axes,
 * the value and both labels in the hover box. The first query is at the top, as in a matrix.
 */
export function heatmap(options: HeatmapOptions): Figure {
  const { trace, xaxis, yaxis, x, y } = heatmapPanel(options);
  const size = autoSize(x.length, y.length, Math.max(...x.map((t) => t.length), ...y.map((t) => t.length)));
  return {
    data: [trace],
    layout: {
      title: { text: options.title },
      xaxis: { ...xaxis, automargin: true },
      yaxis: { ...yaxis, automargin: true },
      width: options.width ?? size.width,
      height: options.height ?? size.height,
      // Long query labels (whole questions) need room to the left of the axis title.
      margin: { t: 60, l: Math.min(420, Math.max(80, 40 + 7 * Math.max(0, ...y.map((t) => t.length)))), r: 30, b: 80 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// grids of heatmaps (head view grids, masks side by side, alignment functions side by side)

export interface HeatmapGridOptions {
  title: string;
  /** Panels per row (default: all in one row up to 4). */
  cols?: number;
  /** One colour scale for all panels (zmin/zmax over all of them), drawn once. Default true. */
  sharedScale?: boolean;
  width?: number;
  height?: number;
}

/** Round away float noise (-5e-17) that plotly's domain validation rejects. */
function clamp01(v: number): number {
  return Math.min(1, Math.max(0, Math.round(v * 1e6) / 1e6));
}

function axisId(k: number): { x: string; y: string; xKey: string; yKey: string } {
  return k === 1 ? { x: 'x', y: 'y', xKey: 'xaxis', yKey: 'yaxis' } : { x: `x${k}`, y: `y${k}`, xKey: `xaxis${k}`, yKey: `yaxis${k}` };
}

/** Several heatmaps in a grid, each with its own title and labels; one colour bar when shared. */
export function heatmapGrid(panels: readonly HeatmapOptions[], options: HeatmapGridOptions): Figure {
  if (!Array.isArray(panels) || panels.length === 0) throw new Error('heatmapGrid: expected at least one panel');
  const cols = Math.max(1, Math.min(options.cols ?? Math.min(panels.length, 4), panels.length));
  const rows = Math.ceil(panels.length / cols);
  const built = panels.map((p, i) => heatmapPanel(p, `heatmapGrid panel ${i} ("${p.title}")`));
  const shared = options.sharedScale ?? true;
  const gapX = 0.06;
  const gapY = rows > 1 ? 0.12 : 0;
  const w = (1 - gapX * (cols - 1)) / cols;
  const h = (1 - gapY * (rows - 1)) / rows;
  const layout: Layout = { title: { text: options.title }, annotations: [] as unknown[], margin: { t: 80, l: 70, r: 30, b: 70 } };
  const annotations = layout.annotations as unknown[];
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of built) {
    lo = Math.min(lo, b.trace.zmin ?? 0);
    hi = Math.max(hi, b.trace.zmax ?? 1);
  }
  const data: Trace[] = built.map((b, i) => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    const id = axisId(i + 1);
    const x0 = c * (w + gapX);
    const y1 = 1 - r * (h + gapY);
    layout[id.xKey] = { ...b.xaxis, domain: [clamp01(x0), clamp01(x0 + w)], anchor: id.y };
    layout[id.yKey] = { ...b.yaxis, domain: [clamp01(y1 - h), clamp01(y1)], anchor: id.x };
    annotations.push({ text: `<b>${panels[i]!.title}</b>`, x: x0 + w / 2, y: y1, xref: 'paper', yref: 'paper', xanchor: 'center', yanchor: 'bottom', showarrow: false });
    const trace: HeatmapTrace = { ...b.trace, xaxis: id.x, yaxis: id.y, name: panels[i]!.title };
    if (shared) {
      trace.zmin = lo;
      trace.zmax = hi;
      trace.showscale = i === 0;
    } else {
      trace.showscale = false;
    }
    return trace;
  });
  const maxCols = Math.max(...built.map((b) => b.x.length));
  const maxRows = Math.max(...built.map((b) => b.y.length));
  const cell = Math.max(8, Math.min(30, Math.floor(1100 / (cols * maxCols))));
  layout.width = options.width ?? Math.min(1400, 140 + cols * (maxCols * cell + 70));
  layout.height = options.height ?? Math.min(1400, 130 + rows * (maxRows * cell + 90));
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------
// head view

export interface HeadViewOptions {
  /** Key tokens (and query tokens, unless `queryTokens` is given). */
  tokens: readonly string[];
  queryTokens?: readonly string[];
  /** The layer shown first (or the only layer in a grid). Default 0. */
  layer?: number;
  /** The head shown first. Default 0. */
  head?: number;
  /** A grid of every head (of `layer` when given, else of every layer: one row per layer). */
  grid?: boolean;
  title?: string;
}

/**
 * A multi-head "head view" in the spirit of bertviz (Vig 2019), offline: weights
 * [layers][heads][nq][nk] (or [heads][nq][nk], or a tensor of rank 2-4; a batch axis of size 1,
 * as in multiHeadAttention's [1, h, nq, nk], reads as one layer). Without `grid` it shows one
 * head with a drop-down to switch between every (layer, head); with `grid` all heads at once.
 */
export function headView(weights: unknown, options: HeadViewOptions): Figure {
  const stack = toLayerHeadStack('headView weights', weights);
  const numLayers = stack.length;
  const numHeads = stack[0]!.length;
  stack.forEach((layer, l) => {
    if (layer.length !== numHeads) throw new Error(`headView: layer ${l} has ${layer.length} heads, layer 0 has ${numHeads}`);
  });
  const nq = stack[0]![0]!.length;
  const nk = stack[0]![0]![0]!.length;
  stack.forEach((layer, l) => layer.forEach((m, h) => {
    if (m.length !== nq || m[0]!.length !== nk) throw new Error(`headView: layer ${l} head ${h} is ${m.length}×${m[0]!.length}, expected ${nq}×${nk}`);
  }));
  const keys = checkLabels('headView', options.tokens, nk, 'x');
  const queries = checkLabels('headView', options.queryTokens ?? (nq === nk ? options.tokens : undefined), nq, 'y');
  const layer = options.layer ?? 0;
  const head = options.head ?? 0;
  if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) throw new Error(`headView: layer ${layer} out of range (the weights have ${numLayers} layer(s))`);
  if (!Number.isInteger(head) || head < 0 || head >= numHeads) throw new Error(`headView: head ${head} out of range (the weights have ${numHeads} head(s))`);
  const title = options.title ?? 'Attention weights';
  const label = (l: number, h: number) => (numLayers > 1 ? `layer ${l} · head ${h}` : `head ${h}`);
  const panel = (l: number, h: number): HeatmapOptions => ({
    z: stack[l]![h]!,
    x: keys,
    y: queries,
    title: label(l, h),
    xTitle: 'key',
    yTitle: 'query',
    zmin: 0,
  });

  if (options.grid) {
    const layers = options.layer === undefined ? range(numLayers) : [layer];
    const panels = layers.flatMap((l) => range(numHeads).map((h) => panel(l, h)));
    return heatmapGrid(panels, { title, cols: numHeads });
  }

  // One figure, every (layer, head) as a trace, a drop-down toggling which one is visible.
  let hi = 0;
  for (const L of stack) for (const m of L) hi = Math.max(hi, finiteExtent(m)[1]);
  const traces: HeatmapTrace[] = [];
  const names: string[] = [];
  for (let l = 0; l < numLayers; l++) for (let h = 0; h < numHeads; h++) {
    const { trace } = heatmapPanel({ ...panel(l, h), zmax: hi }, `headView (layer ${l}, head ${h})`);
    trace.name = label(l, h);
    trace.visible = l === layer && h === head;
    traces.push(trace);
    names.push(label(l, h));
  }
  const base = heatmap({ ...panel(layer, head), zmax: hi, title: `${title}: ${label(layer, head)}` });
  const layout: Layout = { ...base.layout };
  if (traces.length > 1) {
    layout.updatemenus = [{
      type: 'dropdown',
      x: 0,
      xanchor: 'left',
      y: 1.12,
      yanchor: 'bottom',
      showactive: true,
      active: layer * numHeads + head,
      buttons: names.map((name, i) => ({
        label: name,
        method: 'update',
        args: [{ visible: traces.map((_, j) => j === i) }, { 'title.text': `${title}: ${name}` }],
      })),
    }];
    layout.margin = { t: 100, l: 80, r: 30, b: 80 };
  }
  return { data: traces, layout };
}

// ---------------------------------------------------------------------------------------------
// mask pictures

export interface MaskPictureOptions {
  title: string;
  /** Key labels (columns); default positions. */
  tokens?: readonly string[];
  /** Query labels (rows); default `tokens` when square. */
  queryTokens?: readonly string[];
  /**
   * How to read numbers: boolean masks (true/1 = may attend, 0 = blocked) or additive masks
   * (0 = may attend, a large negative number or -Infinity = blocked). Default: additive when any
   * value is negative, else boolean.
   */
  additive?: boolean;
  width?: number;
  height?: number;
}

/** Which cells a mask allows, as 1 (may attend) / 0 (blocked). */
export function maskAllowed(mask: MatrixLike | unknown, additive?: boolean): number[][] {
  const m = toMatrix('maskPicture mask', mask);
  const isAdditive = additive ?? m.some((row) => row.some((v) => v < 0));
  return m.map((row) => row.map((v) => (isAdditive ? (v > -1e4 ? 1 : 0) : v !== 0 && !Number.isNaN(v) ? 1 : 0)));
}

/**
 * A picture of an attention mask (causal, sliding window, strided, BigBird...): dark cells are
 * the (query, key) pairs that may attend. The title gains the fraction of pairs kept, which is
 * the fraction of the n² score matrix a sparse kernel would compute.
 */
export function maskPicture(mask: MatrixLike | unknown, options: MaskPictureOptions): Figure {
  const allowed = maskAllowed(mask, options.additive);
  const nq = allowed.length;
  const nk = allowed[0]!.length;
  const kept = allowed.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const keys = checkLabels('maskPicture', options.tokens, nk, 'x');
  const queries = checkLabels('maskPicture', options.queryTokens ?? (nq === nk ? options.tokens : undefined), nq, 'y');
  const fig = heatmap({
    z: allowed,
    x: keys,
    y: queries,
    title: `${options.title} (${kept} of ${nq * nk} pairs, ${((100 * kept) / (nq * nk)).toFixed(1)}%)`,
    xTitle: 'key position',
    yTitle: 'query position',
    zmin: 0,
    zmax: 1,
    ...(options.width ? { width: options.width } : {}),
    ...(options.height ? { height: options.height } : {}),
  });
  const trace = fig.data[0] as HeatmapTrace;
  trace.colorscale = [[0, '#f2f2f2'], [0.5, '#f2f2f2'], [0.5, '#1f4e9c'], [1, '#1f4e9c']];
  trace.showscale = false;
  trace.text = queries.map((q) => keys.map((k) => `query ${q} → key ${k}`));
  trace.customdata = allowed.map((row) => row.map((v) => (v ? 'may attend' : 'blocked')));
  trace.hovertemplate = '%{text}: %{customdata}<extra></extra>';
  return fig;
}

/** Several masks side by side (e.g. causal, sliding window, strided, BigBird at the same n). */
export function maskGrid(
  panels: readonly { mask: MatrixLike | unknown; title: string; additive?: boolean }[],
  options: { title: string; cols?: number; tokens?: readonly string[]; width?: number; height?: number },
): Figure {
  if (!Array.isArray(panels) || panels.length === 0) throw new Error('maskGrid: expected at least one mask');
  const allowedList = panels.map((p) => maskAllowed(p.mask, p.additive));
  const fig = heatmapGrid(
    allowedList.map((allowed, i) => {
      const n = allowed.length * allowed[0]!.length;
      const kept = allowed.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
      return {
        z: allowed,
        ...(options.tokens ? { x: options.tokens, y: options.tokens } : {}),
        title: `${panels[i]!.title} (${((100 * kept) / n).toFixed(1)}%)`,
        zmin: 0,
        zmax: 1,
        xTitle: 'key',
        yTitle: 'query',
      };
    }),
    { title: options.title, ...(options.cols ? { cols: options.cols } : {}), sharedScale: false, ...(options.width ? { width: options.width } : {}), ...(options.height ? { height: options.height } : {}) },
  );
  fig.data.forEach((trace, i) => {
    const t = trace as HeatmapTrace;
    t.colorscale = [[0, '#f2f2f2'], [0.5, '#f2f2f2'], [0.5, '#1f4e9c'], [1, '#1f4e9c']];
    t.customdata = allowedList[i]!.map((row) => row.map((v) => (v ? 'may attend' : 'blocked')));
    t.hovertemplate = '%{text}: %{customdata}<extra></extra>';
  });
  return fig;
}

// ---------------------------------------------------------------------------------------------
// line and bar charts

export interface LineSeries {
  name: string;
  x: readonly (number | string)[];
  /** `null` leaves a gap (e.g. a size that ran out of memory). */
  y: readonly (number | null)[];
  /** plotly mode, default 'lines+markers'. */
  mode?: 'lines' | 'markers' | 'lines+markers';
  dash?: 'solid' | 'dash' | 'dot' | 'dashdot';
}

export interface LineChartOptions {
  series: readonly LineSeries[];
  title: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Line chart for scaling curves (time vs n, often log-log) and training curves. */
export function lineChart(options: LineChartOptions): Figure {
  if (!Array.isArray(options.series as unknown) || options.series.length === 0) throw new Error('lineChart: expected at least one series');
  const data: ScatterTrace[] = options.series.map((s, i) => {
    const label = `lineChart series ${i} ("${s.name}")`;
    if (!Array.isArray(s.x as unknown) || !Array.isArray(s.y as unknown)) throw new Error(`${label}: x and y must be arrays`);
    if (s.x.length !== s.y.length) throw new Error(`${label}: ${s.x.length} x values but ${s.y.length} y values`);
    if (s.x.length === 0) throw new Error(`${label}: no points`);
    s.y.forEach((v, j) => {
      if (v !== null && (typeof v !== 'number' || Number.isNaN(v))) throw new Error(`${label}: y[${j}] is ${String(v)}, expected a number or null`);
      if (options.logY && v !== null && !(v > 0)) throw new Error(`${label}: logY needs positive values, y[${j}] = ${v}`);
    });
    s.x.forEach((v, j) => {
      if (options.logX && !(typeof v === 'number' && v > 0)) throw new Error(`${label}: logX needs positive numbers, x[${j}] = ${String(v)}`);
    });
    return {
      type: 'scatter',
      name: s.name,
      x: [...s.x],
      y: s.y.map((v) => (v === null || !Number.isFinite(v) ? null : v)),
      mode: s.mode ?? 'lines+markers',
      line: { dash: s.dash ?? 'solid' },
      hovertemplate: `${s.name}<br>${options.xTitle ?? 'x'} = %{x}<br>${options.yTitle ?? 'y'} = %{y:.4g}<extra></extra>`,
    };
  });
  const axis = (title: string | undefined, log: boolean | undefined): Axis => ({
    ...(title ? { title: { text: title } } : {}),
    type: log ? 'log' : 'linear',
  });
  return {
    data,
    layout: {
      title: { text: options.title },
      xaxis: axis(options.xTitle, options.logX),
      yaxis: axis(options.yTitle, options.logY),
      width: options.width ?? 720,
      height: options.height ?? 440,
      legend: { orientation: 'h', y: -0.2 },
      margin: { t: 60, l: 70, r: 30, b: 90 },
    },
  };
}

export interface BarChartOptions {
  /** Category labels (tokens, sentences...). Repeated labels are kept apart. */
  labels: readonly string[];
  series: readonly { name: string; values: readonly number[] }[];
  title: string;
  xTitle?: string;
  yTitle?: string;
  /** Bars left to right (default) or top to bottom (good for long labels such as sentences). */
  horizontal?: boolean;
  width?: number;
  height?: number;
}

/** Grouped bar chart, e.g. scores per token or one weight per sentence. */
export function barChart(options: BarChartOptions): Figure {
  if (!Array.isArray(options.labels) || options.labels.length === 0) throw new Error('barChart: expected at least one label');
  if (!Array.isArray(options.series as unknown) || options.series.length === 0) throw new Error('barChart: expected at least one series');
  const n = options.labels.length;
  const positions = range(n);
  const data: BarTrace[] = options.series.map((s, i) => {
    if (s.values.length !== n) throw new Error(`barChart series ${i} ("${s.name}"): ${s.values.length} values for ${n} labels`);
    s.values.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`barChart series ${i} ("${s.name}"): value ${j} is ${String(v)}`);
    });
    const values = [...s.values];
    const trace: BarTrace = options.horizontal
      ? { type: 'bar', name: s.name, x: values, y: positions, orientation: 'h' }
      : { type: 'bar', name: s.name, x: positions, y: values };
    trace.text = options.labels.map(String);
    trace.hovertemplate = `%{text}<br>${s.name} = %{${options.horizontal ? 'x' : 'y'}:.4g}<extra></extra>`;
    trace.textposition = 'none';
    return trace;
  });
  const catAxis: Axis = { ...(options.xTitle ? { title: { text: options.xTitle } } : {}), tickvals: positions, ticktext: options.labels.map(String) };
  const valAxis: Axis = options.yTitle ? { title: { text: options.yTitle } } : {};
  const longest = Math.max(...options.labels.map((l) => String(l).length));
  return {
    data,
    layout: {
      title: { text: options.title },
      barmode: 'group',
      xaxis: options.horizontal ? valAxis : catAxis,
      yaxis: options.horizontal ? { ...catAxis, autorange: 'reversed' } : valAxis,
      width: options.width ?? (options.horizontal ? 820 : Math.min(1000, 200 + n * 40 * options.series.length)),
      height: options.height ?? (options.horizontal ? Math.min(900, 140 + n * 28) : 420),
      showlegend: options.series.length > 1,
      margin: options.horizontal ? { t: 60, l: Math.min(420, 20 + 6.5 * longest), r: 30, b: 60 } : { t: 60, l: 70, r: 30, b: 100 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// attention over image patches

export interface PatchAttentionOptions {
  /** The image, H×W grey levels (any range; drawn in grey). */
  image: MatrixLike;
  /** One weight per patch, as a (H/p)×(W/p) grid or a flat row-major list. */
  weights: MatrixLike | readonly number[];
  patchSize: number;
  title: string;
  /** Opacity of the weight overlay, default 0.55. */
  opacity?: number;
}

/**
 * An image with one attention weight per patch painted over it (a ViT query, e.g. [CLS],
 * attending to patches, as in Dosovitskiy et al. 2021).
 */
export function patchAttention(options: PatchAttentionOptions): Figure {
  const image = toMatrix('patchAttention image', options.image);
  const p = options.patchSize;
  if (!Number.isInteger(p) || p <= 0) throw new Error(`patchAttention: patchSize must be a positive integer, got ${p}`);
  const H = image.length;
  const W = image[0]!.length;
  if (H % p !== 0 || W % p !== 0) throw new Error(`patchAttention: image ${H}×${W} is not a whole number of ${p}×${p} patches`);
  const gh = H / p;
  const gw = W / p;
  let grid: number[][];
  const flat = Array.isArray(options.weights) && options.weights.every((v) => typeof v === 'number');
  if (flat) {
    const w = options.weights as readonly number[];
    if (w.length !== gh * gw) throw new Error(`patchAttention: ${w.length} weights for ${gh}×${gw} = ${gh * gw} patches`);
    grid = range(gh).map((r) => w.slice(r * gw, (r + 1) * gw));
  } else {
    grid = toMatrix('patchAttention weights', options.weights);
    if (grid.length !== gh || grid[0]!.length !== gw) throw new Error(`patchAttention: weights are ${grid.length}×${grid[0]!.length}, the image has ${gh}×${gw} patches`);
  }
  const centres = (count: number) => range(count).map((i) => i * p + (p - 1) / 2);
  const imageTrace: HeatmapTrace = {
    type: 'heatmap',
    z: image,
    x: range(W),
    y: range(H),
    colorscale: 'Greys',
    reversescale: true,
    showscale: false,
    hoverinfo: 'skip',
    name: 'image',
  };
  const overlay: HeatmapTrace = {
    type: 'heatmap',
    z: grid,
    x: centres(gw),
    y: centres(gh),
    colorscale: 'Reds',
    zmin: 0,
    opacity: options.opacity ?? 0.55,
    name: 'attention',
    text: grid.map((row, r) => row.map((_, c) => `patch (${r}, ${c})`)),
    hovertemplate: '%{text}<br>weight = %{z:.3f}<extra></extra>',
  };
  const px = Math.max(6, Math.floor(360 / Math.max(H, W)));
  return {
    data: [imageTrace, overlay],
    layout: {
      title: { text: options.title },
      xaxis: { showgrid: false, zeroline: false, tickvals: centres(gw), ticktext: range(gw).map(String), title: { text: 'patch column' }, constrain: 'domain' },
      yaxis: { showgrid: false, zeroline: false, tickvals: centres(gh), ticktext: range(gh).map(String), title: { text: 'patch row' }, autorange: 'reversed', scaleanchor: 'x' },
      width: 160 + W * px,
      height: 140 + H * px,
      margin: { t: 60, l: 60, r: 30, b: 60 },
    },
  };
}
