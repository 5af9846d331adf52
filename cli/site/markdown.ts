/**
 * Markdown for the course site: markdown-it (tables, links, HTML as the notebooks write it) with
 * `$…$` and `$$…$$` math typeset by KaTeX at build time (no script, no CDN in the pages) and
 * TypeScript code highlighted by highlight.js.
 */
import MarkdownIt from 'markdown-it';
import type StateInline from 'markdown-it/lib/rules_inline/state_inline.mjs';
import type StateBlock from 'markdown-it/lib/rules_block/state_block.mjs';
import katex from 'katex';
import hljs from 'highlight.js/lib/core';
import typescript from 'highlight.js/lib/languages/typescript';
import javascript from 'highlight.js/lib/languages/javascript';
import python from 'highlight.js/lib/languages/python';
import bash from 'highlight.js/lib/languages/bash';
import json from 'highlight.js/lib/languages/json';

hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('python', python);
hljs.registerLanguage('bash', bash);
hljs.registerLanguage('json', json);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Formulas that KaTeX could not typeset, collected while rendering (the build reports them). */
export const mathErrors: string[] = [];

/** Typeset one formula; a formula KaTeX rejects is shown as red source and recorded. */
export function renderMath(tex: string, displayMode: boolean): string {
  try {
    return katex.renderToString(tex, { displayMode, throwOnError: true, output: 'htmlAndMathml', strict: 'ignore' });
  } catch (error) {
    mathErrors.push(`${tex}: ${(error as Error).message}`);
    return `<code class="math-error" title="${escapeHtml((error as Error).message)}">${escapeHtml(tex)}</code>`;
  }
}

/** Highlighted code as the inside of a <code> element (TypeScript unless told otherwise). */
export function highlight(code: string, language = 'typescript'): string {
  const lang = hljs.getLanguage(language) ? language : 'typescript';
  return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
}

/**
 * Inline math: `$x$` (not `$ x$`, not `$5 and $6`) and `$$x$$` inside a paragraph. The closing
 * `$` must not follow a space or precede a digit, the rule pandoc uses, so prices stay text.
 */
function mathInline(state: StateInline, silent: boolean): boolean {
  const src = state.src;
  const start = state.pos;
  if (src[start] !== '$') return false;
  const display = src[start + 1] === '$';
  const open = display ? 2 : 1;
  if (!display && (src[start + 1] === undefined || /\s/.test(src[start + 1]!))) return false;
  let end = start + open;
  while (end < state.posMax) {
    end = src.indexOf(display ? '$$' : '$', end);
    if (end < 0 || end >= state.posMax) return false;
    let backslashes = 0;
    for (let i = end - 1; src[i] === '\\'; i--) backslashes++;
    const escaped = backslashes % 2 === 1;
    const ok = display || (!/\s/.test(src[end - 1]!) && !/\d/.test(src[end + 1] ?? ''));
    if (!escaped && ok && end > start + open) break;
    end += 1;
  }
  if (end >= state.posMax) return false;
  if (!silent) {
    const token = state.push(display ? 'math_display_inline' : 'math_inline', 'math', 0);
    token.content = src.slice(start + open, end);
    token.markup = display ? '$$' : '$';
  }
  state.pos = end + open;
  return true;
}

/** Block math: a paragraph that starts with `$$` and ends with `$$` (one or several lines). */
function mathBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  const lineText = (line: number) => state.src.slice(state.bMarks[line]! + state.tShift[line]!, state.eMarks[line]);
  const first = lineText(startLine);
  if (!first.startsWith('$$')) return false;
  let content: string;
  let last = startLine;
  const rest = first.slice(2);
  if (rest.trimEnd().endsWith('$$') && rest.trim().length >= 2) {
    content = rest.trimEnd().slice(0, -2);
  } else {
    const lines = [rest];
    let found = false;
    for (let line = startLine + 1; line < endLine; line++) {
      const text = lineText(line);
      if (text.trimEnd().endsWith('$$')) {
        lines.push(text.trimEnd().slice(0, -2));
        last = line;
        found = true;
        break;
      }
      lines.push(text);
    }
    if (!found) return false;
    content = lines.join('\n');
  }
  if (silent) return true;
  const token = state.push('math_block', 'math', 0);
  token.block = true;
  token.content = content;
  token.map = [startLine, last + 1];
  token.markup = '$$';
  state.line = last + 1;
  return true;
}

export type LinkRewriter = (href: string) => string;

/**
 * A markdown renderer. `rewriteLink` maps link targets (a lesson's `05-rnn.ipynb` becomes
 * `05-rnn.html`, `lesson:05` the lesson's page).
 */
export function createMarkdown(rewriteLink: LinkRewriter = (h) => h): MarkdownIt {
  const md = new MarkdownIt({
    html: true,
    linkify: false,
    typographer: false,
    highlight: (code, lang) => `<pre class="code hljs"><code class="language-${escapeHtml(lang || 'typescript')}">${highlight(code, lang || 'typescript')}</code></pre>`,
  });
  md.inline.ruler.after('escape', 'math_inline', mathInline);
  md.block.ruler.before('fence', 'math_block', mathBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
  md.renderer.rules.math_inline = (tokens, idx) => renderMath(tokens[idx]!.content, false);
  md.renderer.rules.math_display_inline = (tokens, idx) => renderMath(tokens[idx]!.content, true);
  md.renderer.rules.math_block = (tokens, idx) => `<div class="math-block">${renderMath(tokens[idx]!.content, true)}</div>\n`;
  const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const href = token.attrGet('href');
    if (href) token.attrSet('href', rewriteLink(href));
    return defaultLinkOpen(tokens, idx, options, env, self);
  };
  return md;
}
