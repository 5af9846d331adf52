/**
 * One notebook (nbformat 4) as static HTML: markdown cells through markdown-it + KaTeX, code
 * highlighted, outputs as the notebook stored them. Plotly figures become a <div> plus their spec
 * in a JSON <script> element, drawn by assets/site.js from the local plotly bundle.
 */
import type MarkdownIt from 'markdown-it';
import { escapeHtml, highlight, renderMath } from './markdown.js';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

type MultilineString = string | string[];

export interface NotebookOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error' | string;
  name?: string;
  text?: MultilineString;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface NotebookCell {
  cell_type: 'markdown' | 'code' | 'raw' | string;
  source: MultilineString;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata?: Record<string, unknown>;
}

export const joinLines = (s: MultilineString | undefined): string => (Array.isArray(s) ? s.join('') : (s ?? ''));

const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');

/** JSON that can sit inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The first `# ` heading of the notebook, without a leading "NN · ". */
export function notebookTitle(nb: Notebook, fallback: string): string {
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'markdown') continue;
    const m = /^#\s+(.+)$/m.exec(joinLines(cell.source));
    if (m) return m[1]!.replace(/^\d+\s*[·:.\-–]\s*/, '').trim();
  }
  return fallback;
}

export interface RenderedNotebook {
  html: string;
  /** h2 headings for the page's table of contents (`html`: the heading's inline HTML, math typeset). */
  headings: Heading[];
  figures: number;
  hasOutputs: boolean;
}

function renderOutput(out: NotebookOutput, md: MarkdownIt, figureId: () => string): { html: string; figure: boolean } {
  switch (out.output_type) {
    case 'stream': {
      const name = out.name === 'stderr' ? 'stderr' : 'stdout';
      return { html: `<pre class="output stream ${name}">${escapeHtml(stripAnsi(joinLines(out.text)))}</pre>`, figure: false };
    }
    case 'error': {
      const trace = (out.traceback ?? []).map(stripAnsi).join('\n') || `${out.ename}: ${out.evalue}`;
      return { html: `<pre class="output error">${escapeHtml(trace)}</pre>`, figure: false };
    }
    case 'display_data':
    case 'execute_result': {
      const data = out.data ?? {};
      if (data[PLOTLY_MIME] !== undefined) {
        const raw = data[PLOTLY_MIME];
        const spec = typeof raw === 'string' ? JSON.parse(raw) : raw;
        const id = figureId();
        return {
          html: `<div class="output figure"><div class="plotly-figure" id="${id}"></div><script type="application/json" class="plotly-spec" data-for="${id}">${scriptJson(spec)}</script></div>`,
          figure: true,
        };
      }
      if (data['text/html'] !== undefined) return { html: `<div class="output html">${joinLines(data['text/html'] as MultilineString)}</div>`, figure: false };
      if (data['image/svg+xml'] !== undefined) return { html: `<div class="output svg">${joinLines(data['image/svg+xml'] as MultilineString)}</div>`, figure: false };
      for (const mime of ['image/png', 'image/jpeg', 'image/gif']) {
        if (data[mime] !== undefined) {
          const b64 = joinLines(data[mime] as MultilineString).replace(/\s/g, '');
          return { html: `<div class="output image"><img alt="output image" src="data:${mime};base64,${b64}"></div>`, figure: false };
        }
      }
      if (data['text/markdown'] !== undefined) return { html: `<div class="output markdown">${md.render(joinLines(data['text/markdown'] as MultilineString))}</div>`, figure: false };
      if (data['text/latex'] !== undefined) {
        const tex = joinLines(data['text/latex'] as MultilineString).trim().replace(/^\$\$?|\$\$?$/g, '');
        return { html: `<div class="output latex">${renderMath(tex, true)}</div>`, figure: false };
      }
      if (data['application/json'] !== undefined) return { html: `<pre class="output json">${escapeHtml(JSON.stringify(data['application/json'], null, 2))}</pre>`, figure: false };
      if (data['text/plain'] !== undefined) return { html: `<pre class="output text">${escapeHtml(stripAnsi(joinLines(data['text/plain'] as MultilineString)))}</pre>`, figure: false };
      return { html: '', figure: false };
    }
    default:
      return { html: '', figure: false };
  }
}

export interface Heading {
  id: string;
  text: string;
  html: string;
  level: number;
}

/** Slug for heading ids: lower case letters, digits and dashes (CJK kept as is). */
export function slugify(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/<[^>]+>/g, '')
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, '') || 'section'
  );
}

/**
 * Render markdown and collect h1-h3 ids. markdown-it gives headings no ids; we add them so the
 * page's table of contents can link to sections.
 */
export function renderMarkdownWithIds(md: MarkdownIt, source: string, used: Set<string>, headings: Heading[]): string {
  const tokens = md.parse(source, {});
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type !== 'heading_open') continue;
    const inline = tokens[i + 1];
    const text = (inline?.children ?? []).filter((c) => c.type === 'text' || c.type === 'code_inline' || c.type === 'math_inline').map((c) => c.content).join('') || inline?.content || '';
    let id = slugify(text);
    for (let n = 2; used.has(id); n++) id = `${slugify(text)}-${n}`;
    used.add(id);
    t.attrSet('id', id);
    // Links inside a heading would nest <a> in the table of contents: keep their text only.
    const children = (inline?.children ?? []).filter((c) => c.type !== 'link_open' && c.type !== 'link_close');
    headings.push({ id, text, html: md.renderer.renderInline(children, md.options, {}), level: Number(t.tag.slice(1)) });
  }
  return md.renderer.render(tokens, md.options, {});
}

/** The body of a lesson page. */
export function renderNotebook(nb: Notebook, md: MarkdownIt, idPrefix = 'fig'): RenderedNotebook {
  const parts: string[] = [];
  const used = new Set<string>();
  const allHeadings: Heading[] = [];
  let figures = 0;
  let hasOutputs = false;
  const figureId = () => `${idPrefix}-${++figures}`;
  for (const cell of nb.cells) {
    const source = joinLines(cell.source);
    if (cell.cell_type === 'markdown') {
      parts.push(`<section class="cell markdown">${renderMarkdownWithIds(md, source, used, allHeadings)}</section>`);
    } else if (cell.cell_type === 'code') {
      if (!source.trim()) continue;
      const prompt = cell.execution_count ? `[${cell.execution_count}]` : '[ ]';
      const outputs = (cell.outputs ?? []).map((o) => renderOutput(o, md, figureId).html).filter(Boolean);
      if (outputs.length) hasOutputs = true;
      parts.push(
        `<section class="cell code"><div class="input"><span class="prompt">${prompt}</span>` +
          `<pre class="code hljs"><code class="language-typescript">${highlight(source)}</code></pre></div>` +
          (outputs.length ? `<div class="outputs">${outputs.join('\n')}</div>` : '') +
          `</section>`,
      );
    } else {
      parts.push(`<pre class="cell raw">${escapeHtml(source)}</pre>`);
    }
  }
  return {
    html: parts.join('\n'),
    headings: allHeadings.filter((h) => h.level === 2),
    figures,
    hasOutputs,
  };
}
