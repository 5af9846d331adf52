/**
 * The static course site: markdown + math + highlighting units, the glossary against the
 * handout's concept lists, then `attention-kit site` built for real (lesson 04 executed with quick
 * budgets, the others without running) and opened in Debian's Chromium from file:// and from a
 * plain static HTTP server: no console errors, no failed requests, formulas typeset, figures
 * drawn, every relative link resolves. Screenshots go to artifacts/site/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, executeNotebook, runCli } from './helpers/kit.js';
import { artifactPath, expectedHeatmapTitles, launchChromium, plotlyFigures, type Browser, type NotebookJson } from './helpers/browser.js';
import { createMarkdown, mathErrors } from '../cli/site/markdown.js';
import { renderNotebook, slugify } from '../cli/site/notebook.js';
import { GLOSSARY, lookupTerm } from '../lib/glossary.js';

/**
 * The handout's concept lists (seeds/003, "本节内容出现的概念和定义"), copied by hand as the
 * reference the glossary must cover: Chinese name (or the name the handout uses) per term.
 */
const HANDOUT_TERMS: Record<'basic' | 'advanced' | 'other', string[]> = {
  basic: ['人工智能', '自然语言处理', '循环神经网络', '注意力机制', '编码器-解码器', '上下文向量', '注意力权重', '对齐函数', 'Softmax 函数', '查询', '键', '值'],
  advanced: ['自注意力', '多头注意力', '稀疏注意力', '局部注意力', '相对位置编码', 'Transformer', 'SOTA'],
  other: ['ResNet', '长短期记忆网络', '深度学习', '机器学习', '梯度消失', '梯度爆炸'],
};

describe('site building blocks', () => {
  test('markdown: $…$ and $$…$$ are typeset by KaTeX, prices stay text, code is highlighted', () => {
    const md = createMarkdown();
    mathErrors.length = 0;
    const html = md.render('Scores $s_j = q \\cdot k_j$ cost $5 and $6.\n\n$$\n\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})V\n$$\n\n```ts\nconst n: number = 1;\n```\n');
    assert.equal((html.match(/class="katex"/g) ?? []).length, 2, 'one inline and one display formula');
    assert.match(html, /class="katex-display"/);
    assert.match(html, /cost \$5 and \$6\./, 'dollar amounts must not become math');
    assert.match(html, /<span class="hljs-keyword">const<\/span>/);
    assert.deepEqual(mathErrors, []);
    md.render('$\\frac{1}{$');
    assert.equal(mathErrors.length, 1, 'a broken formula is recorded, not thrown');
  });

  test('notebook: plotly output becomes a figure div with its spec, stderr and headings kept', () => {
    const md = createMarkdown((href) => href.replace(/^lesson:(\d+)$/, 'L$1.html'));
    const spec = { data: [{ type: 'heatmap', z: [[1, 2]] }], layout: { title: { text: 'a </script> title' } } };
    const rendered = renderNotebook(
      {
        cells: [
          { cell_type: 'markdown', source: '# 04 · Title\n\n## Part one\n\nSee [lesson 5](lesson:05).' },
          {
            cell_type: 'code',
            source: 'showFigure(fig)',
            execution_count: 3,
            outputs: [
              { output_type: 'display_data', data: { 'application/vnd.plotly.v1+json': spec, 'text/html': '<div>fallback</div>' } },
              { output_type: 'stream', name: 'stderr', text: ['warn <b>x</b>\n'] },
            ],
          },
        ],
      },
      md,
      'f',
    );
    assert.equal(rendered.figures, 1);
    assert.deepEqual(rendered.headings, [{ id: 'part-one', text: 'Part one', html: 'Part one', level: 2 }]);
    assert.match(rendered.html, /<div class="plotly-figure" id="f-1"><\/div><script type="application\/json" class="plotly-spec" data-for="f-1">/);
    assert.ok(!rendered.html.includes('fallback'), 'the plotly MIME type wins over the HTML fallback');
    assert.ok(!rendered.html.includes('</script> title'), 'a </script> inside the spec is escaped');
    const json = /data-for="f-1">(.*?)<\/script>/.exec(rendered.html)![1]!;
    assert.deepEqual(JSON.parse(json), spec, 'the spec survives the round trip');
    assert.match(rendered.html, /<pre class="output stream stderr">warn &lt;b&gt;x&lt;\/b&gt;/);
    assert.match(rendered.html, /href="L05.html"/);
    assert.match(rendered.html, /<span class="prompt">\[3\]<\/span>/);
  });

  test('glossary: every term of the handout lists, bilingual, defined, linked to real lesson numbers', () => {
    for (const [list, names] of Object.entries(HANDOUT_TERMS)) {
      for (const name of names) {
        const hits = GLOSSARY.filter((t) => t.list === list && (t.zh.includes(name) || t.en === name || t.abbr === name));
        assert.equal(hits.length, 1, `${list} term ${name}: ${hits.length} entries`);
      }
      assert.equal(GLOSSARY.filter((t) => t.list === list).length, names.length, `${list}: extra or missing entries`);
    }
    const seen = new Set<string>();
    for (const t of GLOSSARY) {
      assert.ok(t.en && /[\u4e00-\u9fff]|Transformer/.test(t.zh), `${t.en}: needs English and Chinese names`);
      assert.ok(t.definition.length > 30 && !/[\u4e00-\u9fff]/.test(t.definition), `${t.en}: a one-line English definition`);
      assert.ok(t.lessons.length > 0 && t.lessons.every((n) => Number.isInteger(n) && n >= 0 && n <= 14), `${t.en}: lessons ${t.lessons}`);
      assert.ok(!seen.has(slugify(t.en)), `${t.en}: duplicate`);
      seen.add(slugify(t.en));
    }
    assert.equal(lookupTerm('注意力权重')[0]?.en, 'Attention weights');
    assert.equal(lookupTerm('lstm')[0]?.zh, '长短期记忆网络');
  });
});

describe('notebooks/glossary.ipynb', () => {
  test('runs on the tslab kernel and shows every term in both languages', { timeout: 5 * 60_000 }, () => {
    const { report, executed, result } = executeNotebook('notebooks/glossary.ipynb', { ATTN_QUICK: '1' }, 120);
    assert.ok(report.ok, `glossary notebook failed: ${JSON.stringify(report.error)}\n${result.stdout.slice(-2000)}`);
    const html = executed.cells
      .flatMap((c) => (c.outputs ?? []) as { data?: Record<string, string | string[]> }[])
      .map((o) => o.data?.['text/html'])
      .filter(Boolean)
      .map((h) => (Array.isArray(h) ? h.join('') : h!))
      .join('');
    const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const t of GLOSSARY) {
      assert.ok(html.includes(escape(t.en)) && html.includes(escape(t.zh)), `${t.en} / ${t.zh} missing from the table`);
    }
    assert.match(html, /<a href="04-[^"]+\.ipynb">04<\/a>/, 'lesson numbers link to the lesson notebooks');
  });
});

/** Every href/src in a page that points inside the site (relative, no scheme), without #fragment. */
function localLinks(html: string): string[] {
  const links = [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) => m[1]!);
  return links.filter((l) => l && !l.startsWith('#') && !/^[a-z]+:/i.test(l)).map((l) => l.split('#')[0]!);
}

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.ipynb': 'application/json' };

/** The simplest static host: files under `dir`, nothing else (no directory listing, no rewrites). */
function staticServer(dir: string): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(dir) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('the course site (attention-kit site) in Chromium', () => {
  let out = '';
  let build = { status: -1, stdout: '', stderr: '' };
  let browser: Browser | undefined;
  let lessonFiles: string[] = [];
  let lesson04: string | undefined;

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'ak-site-'));
    lessonFiles = readdirSync(join(ROOT, 'notebooks')).filter((f) => /^\d{2}-.+\.ipynb$/.test(f)).sort();
    lesson04 = lessonFiles.find((f) => f.startsWith('04-'));
    // Lesson 04 runs through the real kernel (quick budgets); the others are rendered unexecuted.
    build = runCli(['site', '--out', out, '--execute-only', '4', '--quick'], {}, 10 * 60_000);
    browser = await launchChromium({ width: 1300, height: 900 });
  });

  after(async () => {
    await browser?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('builds: a page per lesson, the outline, the glossary, local assets only, every link resolves', () => {
    assert.equal(build.status, 0, `attention-kit site failed:\n${build.stdout.slice(-3000)}\n${build.stderr.slice(-3000)}`);
    assert.ok(lesson04, 'lesson 04 is missing');
    const pages = ['index.html', 'glossary.html', ...lessonFiles.map((f) => `lessons/${f.replace(/\.ipynb$/, '.html')}`)];
    for (const p of pages) assert.ok(existsSync(join(out, p)), `${p} missing`);
    for (const a of ['assets/plotly.min.js', 'assets/katex/katex.min.css', 'assets/katex/fonts/KaTeX_Main-Regular.woff2', 'assets/site.css', 'assets/site.js', 'assets/highlight.css']) {
      assert.ok(existsSync(join(out, a)), `${a} missing`);
    }
    assert.ok(existsSync(join(out, 'notebooks', lesson04!)), 'the executed lesson 04 is offered for download');
    for (const p of pages) {
      const html = readFileSync(join(out, p), 'utf8');
      assert.doesNotMatch(html, /<(?:script|link)[^>]+(?:src|href)="(?:https?:)?\/\//, `${p} loads something from the network`);
      for (const link of localLinks(html)) {
        const target = resolve(dirname(join(out, p)), link);
        assert.ok(target.startsWith(out) && existsSync(target), `${p}: broken link ${link}`);
      }
    }
    // Previous/next: the chain index → lessons in order → glossary.
    const chain = pages.slice(0, 1).concat(pages.slice(2), ['glossary.html']);
    chain.forEach((p, i) => {
      const html = readFileSync(join(out, p), 'utf8');
      const next = /rel="next" href="([^"]+)"/.exec(html)?.[1];
      const expected = chain[i + 1];
      if (expected) assert.equal(next && relative(out, resolve(dirname(join(out, p)), next)), expected, `${p}: next link`);
      else assert.equal(next, undefined, `${p} is last`);
    });
    const lessonHtml = readFileSync(join(out, 'lessons', lesson04!.replace(/\.ipynb$/, '.html')), 'utf8');
    assert.match(lessonHtml, /class="output stream stdout"/, 'lesson 04 shows its printed output');
    assert.doesNotMatch(lessonHtml, /class="output error"|class="banner error"|class="math-error"/);
  });

  test('--no-execute reuses executed copies; --out never wipes a folder the site did not write', () => {
    assert.equal(build.status, 0, 'the site did not build');
    const again = runCli(['site', '--out', out, '--no-execute']);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    const page = `lessons/${lesson04!.replace(/\.ipynb$/, '.html')}`;
    assert.match(again.stdout, new RegExp(`${page.replace(/[.]/g, '\\.')}\\s+\\(cached outputs`), 'lesson 04 kept the outputs of the first build');
    assert.match(readFileSync(join(out, page), 'utf8'), /class="output stream stdout"/);
    const other = mkdtempSync(join(tmpdir(), 'ak-not-a-site-'));
    try {
      writeFileSync(join(other, 'precious.txt'), 'keep me');
      const refused = runCli(['site', '--out', other, '--no-execute']);
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /was not written by `attention-kit site`/);
      assert.equal(readFileSync(join(other, 'precious.txt'), 'utf8'), 'keep me');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('pages load from file:// with no console errors; formulas, tables and figures render', { timeout: 5 * 60_000 }, async () => {
    assert.equal(build.status, 0, 'the site did not build');
    const pages = ['index.html', 'glossary.html', ...lessonFiles.map((f) => `lessons/${f.replace(/\.ipynb$/, '.html')}`)];
    for (const p of pages) {
      const { page, errors } = await browser!.newPage();
      page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
      await page.goto(pathToFileURL(join(out, p)).href, { waitUntil: 'load' });
      await page.evaluate(() => document.fonts.ready);
      const state = await page.evaluate(() => ({
        katex: document.querySelectorAll('.katex').length,
        mathErrors: document.querySelectorAll('.math-error, .katex-error').length,
        specs: document.querySelectorAll('script.plotly-spec').length,
        plots: document.querySelectorAll('.js-plotly-plot .main-svg').length,
        toc: document.querySelectorAll('nav.toc a').length,
      }));
      assert.deepEqual(errors, [], `${p}: console errors`);
      assert.equal(state.mathErrors, 0, `${p}: formulas KaTeX rejected`);
      assert.ok(state.toc >= lessonFiles.length + 2, `${p}: table of contents has ${state.toc} links`);
      if (state.specs > 0) {
        await page.waitForFunction((n) => document.querySelectorAll('.js-plotly-plot').length >= n, state.specs, { timeout: 30_000 });
      }
      if (p === 'index.html') {
        assert.ok(state.katex >= 1, 'the outline typesets the attention formula');
        await page.screenshot({ path: artifactPath('site', 'index.png') });
      }
      if (p === 'glossary.html') {
        const rows = await page.locator('table.glossary tbody tr').count();
        assert.equal(rows, GLOSSARY.length);
        await page.screenshot({ path: artifactPath('site', 'glossary.png') });
      }
      if (lesson04 && p.includes(lesson04.replace(/\.ipynb$/, ''))) {
        assert.ok(state.katex >= 1, 'lesson 04 has typeset formulas');
        const expected = expectedHeatmapTitles(JSON.parse(readFileSync(join(ROOT, 'notebooks', lesson04), 'utf8')) as NotebookJson);
        const figures = await plotlyFigures(page);
        assert.equal(figures.length, state.specs, 'every figure spec was drawn');
        const heat = figures.find((f) => f.xTitle === expected.xTitle && f.yTitle === expected.yTitle);
        assert.ok(heat, `no heatmap titled ${expected.xTitle} / ${expected.yTitle}: ${JSON.stringify(figures.map((f) => [f.xTitle, f.yTitle]))}`);
        assert.ok(heat.traceTypes.includes('heatmap') && heat.heatmapImages >= 1 && heat.xTicks.length > 0, 'the heatmap drew its cells and ticks');
        const fig = page.locator('.js-plotly-plot').filter({ has: page.locator('.xtitle', { hasText: expected.xTitle }) }).first();
        await fig.scrollIntoViewIfNeeded();
        await page.screenshot({ path: artifactPath('site', `${lesson04.replace(/\.ipynb$/, '')}.png`) });
        // Interactive: hovering a heatmap cell shows plotly's hover label.
        const box = (await fig.locator('.nsewdrag').first().boundingBox())!;
        await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.25);
        await page.waitForSelector('.hoverlayer .hovertext', { timeout: 10_000 });
      }
      await page.close();
    }
  });

  test('pages work from a static HTTP host too (relative links only)', { timeout: 2 * 60_000 }, async () => {
    assert.equal(build.status, 0, 'the site did not build');
    const { server, base } = await staticServer(out);
    try {
      for (const p of ['index.html', `lessons/${lesson04!.replace(/\.ipynb$/, '.html')}`]) {
        const { page, errors } = await browser!.newPage();
        const failed: string[] = [];
        page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
        await page.goto(`${base}/${p}`, { waitUntil: 'load' });
        await page.evaluate(() => document.fonts.ready);
        assert.deepEqual([...errors, ...failed], [], `${p} over HTTP`);
        assert.ok((await page.locator('.katex').count()) > 0, `${p}: no formula`);
        if (p.startsWith('lessons/')) await page.waitForSelector('.js-plotly-plot .main-svg', { timeout: 30_000 });
        // Follow "next" like a reader would.
        await page.locator('a[rel="next"]').first().click();
        await page.waitForLoadState('load');
        assert.ok(page.url().startsWith(base), `next link left the site: ${page.url()}`);
        await page.close();
      }
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });
});
