/**
 * Rendering figures: in JupyterLab through the tslab kernel, as a standalone HTML page, or as a
 * MIME bundle a script can inspect. Offline only: plotly.js is read from the project's
 * node_modules/plotly.js-dist-min and inlined, never loaded from a CDN.
 *
 * In JupyterLab the plotly MIME renderer (shipped by the `plotly` Python package in .venv) draws
 * `application/vnd.plotly.v1+json`. Front ends without it (nbconvert HTML, VS Code without the
 * extension, GitHub) fall back to the `text/html` part, which carries plotly.js itself the first
 * time a kernel session shows a figure and reuses `window.Plotly` after that.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { Figure } from './types.js';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

const require = createRequire(import.meta.url);

/** What a display_data message carries: one entry per MIME type. */
export interface FigureBundle {
  [PLOTLY_MIME]: { data: unknown[]; layout: Record<string, unknown>; config: Record<string, unknown> };
  'text/html': string;
  'text/plain': string;
}

export interface ShowOptions {
  /**
   * Whether the HTML fallback carries plotly.js (~4.8 MB): 'once' (default) inlines it in the
   * first figure a kernel session displays; 'always' in every figure; 'never' relies on a page
   * that already has `window.Plotly`.
   */
  inlinePlotly?: 'once' | 'always' | 'never';
}

const DEFAULT_CONFIG = { responsive: true, displaylogo: false };

let plotlySource: string | null = null;
let plotlyInlinedInSession = false;
let figureCounter = 0;

/** Absolute path of the plotly.js bundle this kit inlines. */
export function plotlyBundlePath(): string {
  return require.resolve('plotly.js-dist-min');
}

/** The plotly.js source, read once. */
function plotlyJs(): string {
  if (plotlySource === null) {
    // A literal "</script" inside the bundle would end our <script> element early.
    plotlySource = readFileSync(plotlyBundlePath(), 'utf8').replace(/<\/script/gi, '<\\/script');
  }
  return plotlySource;
}

/** JSON safe to put inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function checkFigure(fig: Figure, who: string): void {
  if (typeof fig !== 'object' || fig === null || !Array.isArray(fig.data) || typeof fig.layout !== 'object' || fig.layout === null) {
    throw new Error(`${who}: expected a figure { data: [...traces], layout: {...} } as built by heatmap/headView/maskPicture/lineChart`);
  }
  fig.data.forEach((t, i) => {
    if (typeof t !== 'object' || t === null || typeof t.type !== 'string') throw new Error(`${who}: trace ${i} has no 'type'`);
  });
}

function titleOf(fig: Figure): string {
  const t = fig.layout.title;
  return (typeof t === 'object' && t !== null && typeof t.text === 'string' ? t.text : typeof t === 'string' ? t : 'figure').replace(/<[^>]+>/g, '');
}

/** A <div> plus the script that draws the figure into it, with or without plotly.js inlined. */
function figureDiv(fig: Figure, inline: boolean): string {
  const id = `attention-kit-fig-${process.pid.toString(36)}-${Date.now().toString(36)}-${(figureCounter++).toString(36)}`;
  const height = typeof fig.layout.height === 'number' ? `${fig.layout.height}px` : '440px';
  const width = typeof fig.layout.width === 'number' ? `${fig.layout.width}px` : '100%';
  const plotly = inline ? `<script type="text/javascript">${plotlyJs()}</script>\n` : '';
  const spec = scriptJson({ data: fig.data, layout: fig.layout, config: { ...DEFAULT_CONFIG, ...(fig.config ?? {}) } });
  return `${plotly}<div id="${id}" class="attention-kit-figure" style="height:${height};width:${width};"></div>
<script type="text/javascript">
(function () {
  var fig = ${spec};
  var el = document.getElementById(${JSON.stringify(id)});
  if (window.Plotly) { window.Plotly.newPlot(el, fig.data, fig.layout, fig.config); }
  else { el.textContent = 'plotly.js is not loaded on this page: re-run the cell with showFigure(fig, { inlinePlotly: "always" }).'; }
})();
</script>`;
}

/**
 * The MIME bundle for a figure: plotly JSON for JupyterLab, HTML as the fallback, a line of text
 * for plain consoles.
 */
export function figureBundle(fig: Figure, options: { inlinePlotly?: boolean } = {}): FigureBundle {
  checkFigure(fig, 'figureBundle');
  return {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: { ...DEFAULT_CONFIG, ...(fig.config ?? {}) } },
    'text/html': figureDiv(fig, options.inlinePlotly ?? true),
    'text/plain': `<figure: ${titleOf(fig)} (${fig.data.length} trace${fig.data.length === 1 ? '' : 's'})>`,
  };
}

type WriteDisplayData = (data: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/**
 * tslab's display writer for the cell running now, or null outside a tslab kernel. tslab's own
 * `display.raw` sends one MIME type per message; we need a multi-MIME bundle, so we call the
 * writer tslab keeps in its jupyter module (`lastWriteDisplayData`). We only look at modules the
 * kernel has already loaded, so scripts and tests never load tslab.
 */
function kernelWriter(): WriteDisplayData | null {
  const cache = require.cache as Record<string, { exports?: { lastWriteDisplayData?: unknown } } | undefined>;
  const candidates: string[] = [];
  try {
    candidates.push(require.resolve('tslab/dist/jupyter.js'));
  } catch {
    // tslab not installed next to the kit; a kernel elsewhere may still have loaded its own copy
  }
  candidates.push(...Object.keys(cache).filter((k) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(k)));
  for (const path of candidates) {
    const writer = cache[path]?.exports?.lastWriteDisplayData;
    if (typeof writer === 'function') return writer as WriteDisplayData;
  }
  return null;
}

/** True when running inside a tslab kernel that can display rich output. */
export function inKernel(): boolean {
  return kernelWriter() !== null;
}

/**
 * Show a figure in the notebook (plotly MIME bundle with an HTML fallback). Inside a kernel it
 * returns undefined, so that a cell ending in `showFigure(fig)` prints nothing more (tslab
 * console.logs a cell's last value); outside a kernel (tests, scripts) it displays nothing and
 * returns the bundle it would have sent.
 */
export function showFigure(fig: Figure, options: ShowOptions = {}): FigureBundle | undefined {
  checkFigure(fig, 'showFigure');
  const writer = kernelWriter();
  const mode = options.inlinePlotly ?? 'once';
  const inline = mode === 'always' || (mode === 'once' && !(writer && plotlyInlinedInSession));
  const bundle = figureBundle(fig, { inlinePlotly: inline });
  if (!writer) return bundle;
  writer({ data: { ...bundle }, metadata: {}, transient: {} }, false);
  if (inline) plotlyInlinedInSession = true;
  return undefined;
}

/** A standalone HTML page (plotly.js inlined) that draws the figure offline. */
export function figureToHtml(fig: Figure, options: { title?: string } = {}): string {
  checkFigure(fig, 'figureToHtml');
  const title = escapeHtml(options.title ?? titleOf(fig));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
</head>
<body>
${figureDiv(fig, true)}
</body>
</html>
`;
}

/** Write `figureToHtml(fig)` to `path` (folders are created); returns the absolute path. */
export function writeFigureHtml(fig: Figure, path: string, options: { title?: string } = {}): string {
  const html = figureToHtml(fig, options);
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, html);
  return abs;
}
