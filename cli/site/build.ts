/**
 * The static course site: the handout outline, every lesson (executed, with its outputs) and the
 * glossary, as plain HTML with relative links only, so it works from file:// and from any static
 * host. KaTeX typesets formulas at build time; plotly.js, KaTeX's CSS and fonts and the
 * highlighting theme are copied from node_modules into site/assets (no CDN).
 *
 *   site/index.html            outline + table of contents
 *   site/lessons/NN-name.html  one page per notebooks/NN-*.ipynb
 *   site/glossary.html         the bilingual glossary (lib/glossary.ts)
 *   site/notebooks/NN-name.ipynb  the executed notebooks (downloadable; reused by --no-execute)
 *   site/assets/…
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { GLOSSARY, GLOSSARY_LISTS, type GlossaryList } from '../../lib/glossary.js';
import { KIT_ROOT, NOTEBOOKS, PY_DIR, VENV_PYTHON, jupyterEnv, requireVenv } from '../paths.js';
import { createMarkdown, escapeHtml, mathErrors } from './markdown.js';
import { notebookTitle, renderMarkdownWithIds, renderNotebook, slugify, type Heading, type Notebook } from './notebook.js';

const require = createRequire(import.meta.url);
const SITE_SRC = join(KIT_ROOT, 'cli', 'site');
const MARKER = '.attention-kit-site';
const COURSE_TITLE = 'Attention, from origins to applications';

export interface SiteOptions {
  /** Output folder (default: site/ in the kit). */
  out?: string;
  /** Which lessons to execute: all (default), none, or these numbers. */
  execute?: 'all' | 'none' | number[];
  /** Run with the announced small budgets (ATTN_QUICK=1), as CI does. */
  quick?: boolean;
  /** Seconds per cell when executing. */
  cellTimeoutS?: number;
  /** Progress messages (default: console.log). */
  log?: (message: string) => void;
  /** Pass the runner's output through (default true). */
  echo?: boolean;
}

export interface LessonReport {
  number: number;
  file: string;
  title: string;
  page: string;
  /** 'run' executed now, 'cached' an executed copy from an earlier build, 'source' no outputs. */
  outputs: 'run' | 'cached' | 'source';
  ok: boolean;
  error?: string;
  figures: number;
}

export interface SiteReport {
  out: string;
  pages: string[];
  lessons: LessonReport[];
  mathErrors: string[];
  seconds: number;
}

interface Lesson {
  number: number;
  file: string; // 04-attention-intuition.ipynb
  stem: string; // 04-attention-intuition
  title: string;
}

/** notebooks/NN-*.ipynb in order. */
export function findLessons(dir = NOTEBOOKS): Omit<Lesson, 'title'>[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^\d{2}-.+\.ipynb$/.test(f))
    .sort()
    .map((file) => ({ number: Number(file.slice(0, 2)), file, stem: file.replace(/\.ipynb$/, '') }));
}

/** Remove an old site, but only one we wrote (it has our marker) or an empty folder. */
function prepareOut(out: string): void {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(`${out} exists and was not written by \`attention-kit site\`; choose another --out or remove it`);
    }
    for (const entry of entries) if (entry !== 'notebooks') rmSync(join(out, entry), { recursive: true, force: true });
  }
  mkdirSync(join(out, 'notebooks'), { recursive: true });
  writeFileSync(join(out, MARKER), 'written by attention-kit site; the whole folder is rebuilt each time\n');
}

function copyAssets(out: string): void {
  const assets = join(out, 'assets');
  mkdirSync(join(assets, 'katex'), { recursive: true });
  cpSync(require.resolve('plotly.js-dist-min'), join(assets, 'plotly.min.js'));
  const katexDist = dirname(require.resolve('katex/dist/katex.min.css'));
  cpSync(join(katexDist, 'katex.min.css'), join(assets, 'katex', 'katex.min.css'));
  cpSync(join(katexDist, 'fonts'), join(assets, 'katex', 'fonts'), { recursive: true });
  cpSync(require.resolve('highlight.js/styles/github.min.css'), join(assets, 'highlight.css'));
  cpSync(join(SITE_SRC, 'site.css'), join(assets, 'site.css'));
  cpSync(join(SITE_SRC, 'site.js'), join(assets, 'site.js'));
}

/** Run notebooks through the real kernel into out/notebooks; returns the runner's reports. */
function executeLessons(files: string[], out: string, options: SiteOptions): Map<string, { ok: boolean; error?: string }> {
  requireVenv();
  const reportFile = join(out, 'notebooks', 'run-report.json');
  rmSync(reportFile, { force: true });
  const args = [join(PY_DIR, 'run_notebook.py'), '--timeout', String(options.cellTimeoutS ?? 600), '--output-dir', join(out, 'notebooks'), '--json', reportFile, ...files];
  spawnSync(VENV_PYTHON, args, {
    stdio: ['ignore', options.echo === false ? 'ignore' : 'inherit', options.echo === false ? 'ignore' : 'inherit'],
    env: jupyterEnv(options.quick ? { ATTN_QUICK: '1' } : {}),
    cwd: KIT_ROOT,
  });
  const results = new Map<string, { ok: boolean; error?: string }>();
  const reports = existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as { notebook: string; ok: boolean; error?: { cell?: number; message?: string; where?: string } | null }[])
    : [];
  for (const r of reports) {
    const e = r.error;
    results.set(r.notebook.split('/').pop()!, { ok: r.ok, error: e ? `cell ${e.cell ?? '?'}: ${e.message ?? ''}${e.where ? ` (${e.where})` : ''}` : undefined });
  }
  for (const f of files) {
    const name = f.split('/').pop()!;
    if (!results.has(name)) results.set(name, { ok: false, error: 'the runner wrote no report (see its output above)' });
  }
  return results;
}

interface NavItem {
  href: string; // relative to the site root
  label: string;
  number?: string;
}

/** The page shell: header, sidebar with the table of contents, content, previous/next. */
function pageHtml(opts: {
  title: string;
  root: string; // '' or '../'
  current: string;
  nav: NavItem[];
  headings?: { id: string; html: string }[];
  body: string;
  prev?: NavItem;
  next?: NavItem;
  plotly?: boolean;
}): string {
  const { root } = opts;
  const toc = opts.nav
    .map((item) => {
      const current = item.href === opts.current;
      const sub =
        current && opts.headings?.length
          ? `<ul class="toc-sections">${opts.headings.map((h) => `<li><a href="#${h.id}">${h.html}</a></li>`).join('')}</ul>`
          : '';
      return `<li${current ? ' class="current"' : ''}><a href="${root}${item.href}"${current ? ' aria-current="page"' : ''}>${item.number ? `<span class="num">${item.number}</span> ` : ''}${escapeHtml(item.label)}</a>${sub}</li>`;
    })
    .join('\n');
  const link = (item: NavItem | undefined, rel: 'prev' | 'next') =>
    item
      ? `<a class="${rel}" rel="${rel}" href="${root}${item.href}">${rel === 'prev' ? '← ' : ''}${item.number ? `${item.number} · ` : ''}${escapeHtml(item.label)}${rel === 'next' ? ' →' : ''}</a>`
      : '<span></span>';
  const pager = `<nav class="pager" aria-label="previous and next">${link(opts.prev, 'prev')}${link(opts.next, 'next')}</nav>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)} · ${COURSE_TITLE}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${root}assets/katex/katex.min.css">
<link rel="stylesheet" href="${root}assets/highlight.css">
<link rel="stylesheet" href="${root}assets/site.css">
</head>
<body>
<header class="site-header"><a href="${root}index.html">${COURSE_TITLE}</a><span class="subtitle">注意力机制 · attention-kit</span></header>
<div class="layout">
<nav class="toc" aria-label="table of contents"><ol>
${toc}
</ol></nav>
<main>
${pager}
<article>
${opts.body}
</article>
${pager}
</main>
</div>
${opts.plotly ? `<script src="${root}assets/plotly.min.js"></script>\n` : ''}<script src="${root}assets/site.js"></script>
</body>
</html>
`;
}

/** `[text](lesson:04)` → the lesson's page, `[text](glossary:term)` → the glossary. */
function linkResolver(lessons: Lesson[], root: string): (href: string) => string {
  const byNumber = new Map(lessons.map((l) => [l.number, l]));
  const byFile = new Map(lessons.map((l) => [l.file, l]));
  return (href) => {
    const lessonRef = /^lesson:(\d+)$/.exec(href);
    if (lessonRef) {
      const l = byNumber.get(Number(lessonRef[1]));
      return l ? `${root}lessons/${l.stem}.html` : `${root}index.html#lessons`;
    }
    const glossaryRef = /^glossary:(.*)$/.exec(href);
    if (glossaryRef) return `${root}glossary.html${glossaryRef[1] ? `#${slugify(glossaryRef[1])}` : ''}`;
    // Links between notebooks (`05-rnn.ipynb`, `./05-rnn.ipynb#part`) go to the lesson pages.
    const nb = /^(?:\.\/|\.\.\/notebooks\/)?(\d{2}-[^/#?]+)\.ipynb(#.*)?$/.exec(href);
    if (nb && byFile.has(`${nb[1]}.ipynb`)) return `${root}lessons/${nb[1]}.html${nb[2] ?? ''}`;
    return href;
  };
}

function lessonLinks(numbers: number[], lessons: Lesson[], root: string): string {
  const byNumber = new Map(lessons.map((l) => [l.number, l]));
  return numbers
    .map((n) => {
      const label = String(n).padStart(2, '0');
      const l = byNumber.get(n);
      return l ? `<a href="${root}lessons/${l.stem}.html" title="${escapeHtml(l.title)}">${label}</a>` : `<span class="missing" title="lesson not written yet">${label}</span>`;
    })
    .join(' ');
}

function glossaryBody(lessons: Lesson[]): string {
  const lists = Object.keys(GLOSSARY_LISTS) as GlossaryList[];
  const sections = lists.map((list) => {
    const rows = GLOSSARY.filter((t) => t.list === list)
      .map(
        (t) =>
          `<tr id="${slugify(t.en)}"><td class="en">${escapeHtml(t.en)}${t.abbr ? ` <abbr>(${escapeHtml(t.abbr)})</abbr>` : ''}</td>` +
          `<td class="zh" lang="zh-CN">${escapeHtml(t.zh)}</td><td>${escapeHtml(t.definition)}</td><td class="lessons">${lessonLinks(t.lessons, lessons, '')}</td></tr>`,
      )
      .join('\n');
    const { en, zh } = GLOSSARY_LISTS[list];
    return `<h2 id="${slugify(en)}">${escapeHtml(en)} <span lang="zh-CN">${zh}</span></h2>
<table class="glossary"><thead><tr><th>English</th><th>中文</th><th>Definition</th><th>Lessons</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  });
  return `<h1>Glossary <span lang="zh-CN">术语表</span></h1>
<p>Every term from the handout's concept lists (基础概念, 高级概念, 其他概念), then the terms the lessons
add, with a one-line definition and the lessons that teach it. The same table is in
<code>notebooks/glossary.ipynb</code> and in the library as <code>GLOSSARY</code>.</p>
${sections.join('\n')}`;
}

/** Build the site. Returns what it wrote; lessons that failed to run are reported, not fatal. */
export function buildSite(options: SiteOptions = {}): SiteReport {
  const started = Date.now();
  const log = options.log ?? ((m: string) => console.log(m));
  const out = resolve(options.out ?? join(KIT_ROOT, 'site'));
  prepareOut(out);
  mathErrors.length = 0;

  const found = findLessons();
  const execute = options.execute ?? 'all';
  const toRun = found.filter((l) => execute === 'all' || (Array.isArray(execute) && execute.includes(l.number)));
  let runResults = new Map<string, { ok: boolean; error?: string }>();
  if (toRun.length) {
    log(`[site] executing ${toRun.length} lesson(s)${options.quick ? ' with quick budgets (ATTN_QUICK=1)' : ''}: ${toRun.map((l) => l.file).join(', ')}`);
    runResults = executeLessons(
      toRun.map((l) => join(NOTEBOOKS, l.file)),
      out,
      options,
    );
  }

  // Read each lesson: the copy executed now, an executed copy from an earlier build that is newer
  // than the source, or the source (no outputs).
  const notebooks = new Map<string, { nb: Notebook; outputs: LessonReport['outputs'] }>();
  for (const l of found) {
    const source = join(NOTEBOOKS, l.file);
    const executed = join(out, 'notebooks', l.file);
    let outputs: LessonReport['outputs'] = 'source';
    if (runResults.has(l.file) && existsSync(executed)) outputs = 'run';
    else if (!runResults.has(l.file) && existsSync(executed) && statSync(executed).mtimeMs >= statSync(source).mtimeMs) outputs = 'cached';
    else rmSync(executed, { force: true });
    const nb = JSON.parse(readFileSync(outputs === 'source' ? source : executed, 'utf8')) as Notebook;
    notebooks.set(l.file, { nb, outputs });
  }
  const lessons: Lesson[] = found.map((l) => ({ ...l, title: notebookTitle(notebooks.get(l.file)!.nb, l.stem) }));

  const nav: NavItem[] = [
    { href: 'index.html', label: 'Course outline' },
    ...lessons.map((l) => ({ href: `lessons/${l.stem}.html`, label: l.title, number: String(l.number).padStart(2, '0') })),
    { href: 'glossary.html', label: 'Glossary 术语表' },
  ];
  const neighbours = (i: number) => ({ prev: nav[i - 1], next: nav[i + 1] });
  const pages: string[] = [];
  const write = (href: string, html: string) => {
    const file = join(out, href);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, html);
    pages.push(href);
  };

  // Outline and table of contents.
  {
    const md = createMarkdown(linkResolver(lessons, ''));
    const headings: Heading[] = [];
    const outline = renderMarkdownWithIds(md, readFileSync(join(SITE_SRC, 'outline.md'), 'utf8'), new Set(), headings);
    const list = lessons
      .map((l) => `<li><a href="lessons/${l.stem}.html"><span class="num">${String(l.number).padStart(2, '0')}</span> ${escapeHtml(l.title)}</a></li>`)
      .join('\n');
    const body = `${outline}
<h2 id="lessons">Lessons</h2>
<ol class="lesson-list">
${list}
<li><a href="glossary.html"><span class="num">∗</span> Glossary 术语表</a></li>
</ol>`;
    write('index.html', pageHtml({ title: 'Course outline', root: '', current: 'index.html', nav, headings: [...headings.filter((h) => h.level === 2), { id: 'lessons', html: 'Lessons' }], body, ...neighbours(0) }));
  }

  // Lessons.
  const reports: LessonReport[] = [];
  lessons.forEach((l, i) => {
    const { nb, outputs } = notebooks.get(l.file)!;
    const md = createMarkdown(linkResolver(lessons, '../'));
    const rendered = renderNotebook(nb, md, `fig-${l.number}`);
    const run = runResults.get(l.file);
    const ok = run ? run.ok : true;
    const banner = !ok
      ? `<div class="banner error">This lesson stopped with an error when the site was built (${escapeHtml(run?.error ?? '')}); outputs after that cell are missing.</div>`
      : outputs === 'source'
        ? '<div class="banner note">This page was built without running the lesson, so it shows no outputs. Run <code>npm run site</code> for the full version.</div>'
        : '';
    const download = outputs === 'source' ? '' : `<p class="download"><a href="../notebooks/${l.file}" download>Download the executed notebook</a> · run it yourself with <code>npm start</code></p>`;
    const href = `lessons/${l.stem}.html`;
    write(href, pageHtml({ title: `${String(l.number).padStart(2, '0')} · ${l.title}`, root: '../', current: href, nav, headings: rendered.headings, body: `${banner}${rendered.html}${download}`, plotly: rendered.figures > 0, ...neighbours(i + 1) }));
    reports.push({ number: l.number, file: l.file, title: l.title, page: href, outputs, ok, error: run?.error, figures: rendered.figures });
  });

  // Glossary.
  write('glossary.html', pageHtml({ title: 'Glossary', root: '', current: 'glossary.html', nav, headings: Object.values(GLOSSARY_LISTS).map((g) => ({ id: slugify(g.en), html: escapeHtml(g.en) })), body: glossaryBody(lessons), ...neighbours(nav.length - 1) }));

  copyAssets(out);
  rmSync(join(out, 'notebooks', 'run-report.json'), { force: true });
  const seconds = (Date.now() - started) / 1000;
  return { out, pages, lessons: reports, mathErrors: [...mathErrors], seconds };
}
