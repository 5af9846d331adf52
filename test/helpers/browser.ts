/**
 * Helpers for the browser tests: Debian's Chromium driven by playwright-core (no browser
 * download), a throwaway JupyterLab server on a free loopback port, artifacts, clean shutdown.
 *
 * Everything started here is stopped by the returned `close()`/`stop()` even when a test fails,
 * and, as a last resort, when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './kit.js';

/** Debian's `chromium` package (installed by .ci/run); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'artifacts');

/** Flags for a closed network: nothing phones home, so nothing times out or logs errors. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Kill functions run when the process exits, for whatever a failing test left behind. */
const onExit = new Set<() => void>();
process.on('exit', () => {
  for (const fn of onExit) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
});

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface Browser {
  context: BrowserContext;
  /** A new page whose console errors and uncaught exceptions are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Launch headless Chromium with a fresh profile (removed again by `close`). */
export async function launchChromium(viewport = { width: 1400, height: 1000 }): Promise<Browser> {
  if (!chromiumAvailable()) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'ak-chromium-'));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  onExit.add(removeProfile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: 60_000,
  });
  let closed = false;
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location().url})`);
      });
      page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
      return { page, errors };
    },
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      removeProfile();
      onExit.delete(removeProfile);
    },
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface JupyterLab {
  /** http://127.0.0.1:PORT */
  base: string;
  token: string;
  /** URL of a file in JupyterLab, e.g. lab('notebooks/00-setup.ipynb'); logs in with the token. */
  lab(path: string): string;
  /** The server's console output so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settings that keep JupyterLab quiet and deterministic in a headless test. */
const LAB_SETTINGS: Record<string, unknown> = {
  // Render every cell (no virtual scrolling), so that plots far down the notebook are in the DOM.
  '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': { windowingMode: 'none' },
  // Never write a notebook back: the test opens the real lessons and must leave them untouched.
  '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings': { autosave: false },
  // No news or update checks: the network is closed.
  '@jupyterlab/apputils-extension/notification.jupyterlab-settings': { fetchNews: 'false', checkForUpdates: false },
};

/**
 * Start `jupyter lab` from the project venv on a free 127.0.0.1 port with a random token, the repo
 * as root folder, and throwaway config/runtime/settings/workspace folders. `env` reaches kernels.
 */
export async function startJupyterLab(env: Record<string, string> = {}, startTimeoutMs = 120_000): Promise<JupyterLab> {
  const jupyter = join(ROOT, '.venv', 'bin', 'jupyter');
  if (!existsSync(jupyter)) throw new Error(`${jupyter} missing: run \`npm run setup\``);
  const home = mkdtempSync(join(tmpdir(), 'ak-jupyter-'));
  for (const [file, value] of Object.entries(LAB_SETTINGS)) {
    const path = join(home, 'settings', file);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify(value));
  }
  mkdirSync(join(home, 'workspaces'), { recursive: true });
  const token = randomBytes(24).toString('hex');

  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(
      jupyter,
      [
        'lab',
        '--no-browser',
        '--ServerApp.ip=127.0.0.1',
        `--ServerApp.port=${port}`,
        '--ServerApp.port_retries=0',
        `--IdentityProvider.token=${token}`,
        `--ServerApp.root_dir=${ROOT}`,
        `--LabApp.user_settings_dir=${join(home, 'settings')}`,
        `--LabApp.workspaces_dir=${join(home, 'workspaces')}`,
        '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
        '--LabApp.extension_manager=readonly',
        // Checkpoints (copies made when a file is opened) go to the throwaway folder, not the repo.
        `--FileCheckpoints.checkpoint_dir=${join(home, 'checkpoints')}`,
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      {
        cwd: home,
        detached: true, // its own process group, so a last-resort kill takes its children too
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          PATH: `${join(ROOT, '.venv', 'bin')}:${process.env.PATH ?? ''}`,
          VIRTUAL_ENV: join(ROOT, '.venv'),
          JUPYTER_CONFIG_DIR: join(home, 'config'),
          JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
          PYTHONPATH: join(ROOT, 'cli', 'py'),
          ATTENTION_KIT_ROOT: ROOT,
          ...env,
        },
      },
    );
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    onExit.add(killGroup);

    const started = Date.now();
    let ready = false;
    while (Date.now() - started < startTimeoutMs && child.exitCode === null) {
      try {
        const res = await fetch(`${base}/api/status`, { headers: { Authorization: `token ${token}` } });
        if (res.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(500);
    }
    if (!ready) {
      lastError = output;
      killGroup();
      onExit.delete(killGroup);
      if (child.exitCode !== null && /address already in use|Errno 98/i.test(output)) continue; // port race: retry
      rmSync(home, { recursive: true, force: true });
      throw new Error(`JupyterLab did not start within ${startTimeoutMs / 1000} s:\n${output.slice(-4000)}`);
    }
    return {
      base,
      token,
      // ?reset: start from an empty workspace, not the tabs an earlier page left open.
      lab: (path) => `${base}/lab/tree/${path}?reset&token=${token}`,
      log: () => output,
      stop: () => stopJupyter(child, base, token, home, killGroup),
    };
  }
  rmSync(home, { recursive: true, force: true });
  throw new Error(`JupyterLab could not get a free port:\n${lastError.slice(-4000)}`);
}

/** Shut kernels down through the REST API (they run in their own sessions), then the server. */
async function stopJupyter(child: ChildProcess, base: string, token: string, home: string, killGroup: () => void): Promise<void> {
  const headers = { Authorization: `token ${token}` };
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    const kernels = (await (await fetch(`${base}/api/kernels`, { headers })).json()) as { id: string }[];
    await Promise.all(kernels.map((k) => fetch(`${base}/api/kernels/${k.id}`, { method: 'DELETE', headers })));
    await fetch(`${base}/api/shutdown`, { method: 'POST', headers });
  } catch {
    // server already down
  }
  for (let i = 0; i < 40 && !exited(); i++) await sleep(250);
  if (!exited() && child.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // gone
    }
    for (let i = 0; i < 20 && !exited(); i++) await sleep(250);
  }
  killGroup();
  onExit.delete(killGroup);
  rmSync(home, { recursive: true, force: true });
}

/** artifacts/<sub>/, created. */
export function artifactPath(sub: string, file: string): string {
  const dir = join(ARTIFACTS, sub);
  mkdirSync(dir, { recursive: true });
  return join(dir, file);
}

// ---------------------------------------------------------------------------------------------
// Driving a notebook in JupyterLab.

/** The display name setup.mjs gives the tslab kernel. */
export const TSLAB_DISPLAY_NAME = 'TypeScript (attention-kit)';

/** Open a notebook and wait until its kernel is idle. */
export async function openNotebook(page: Page, url: string, timeoutMs = 120_000): Promise<void> {
  await page.goto(url, { timeout: timeoutMs });
  await page.waitForSelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell', { timeout: timeoutMs });
  await waitForKernelIdle(page, timeoutMs);
}

export async function waitForKernelIdle(page: Page, timeoutMs = 120_000): Promise<void> {
  await page.waitForSelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: timeoutMs });
}

/**
 * Choose a kernel through Kernel ▸ Change Kernel… (what a student does), e.g. `{"name":"tslab"}`,
 * and wait until the toolbar names it and it is idle.
 */
export async function selectKernel(page: Page, kernelName: string, displayName: string, timeoutMs = 120_000): Promise<void> {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Kernel$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Change Kernel/ }).click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.waitFor({ timeout: 30_000 });
  await dialog.locator('select').selectOption({ value: JSON.stringify({ name: kernelName }) });
  await dialog.locator('button.jp-mod-accept').click();
  await dialog.waitFor({ state: 'detached', timeout: 30_000 });
  await page.waitForFunction(
    (name) => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName')?.textContent?.trim() === name,
    displayName,
    { timeout: timeoutMs },
  );
  await waitForKernelIdle(page, timeoutMs);
}

/**
 * Run ▸ Run All Cells, then wait until the run is over: some cell got an execution count, no cell
 * shows [*] and the kernel is idle, three polls in a row (a run stops early at a failing cell).
 */
export async function runAllCells(page: Page, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  let quiet = 0;
  while (Date.now() - started < timeoutMs) {
    const state = await page.evaluate(() => ({
      prompts: Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')).map((e) => e.textContent ?? ''),
      status: document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator')?.getAttribute('data-status'),
    }));
    const running = state.prompts.some((p) => p.includes('*'));
    const ran = state.prompts.some((p) => /\d/.test(p));
    quiet = ran && !running && state.status === 'idle' ? quiet + 1 : 0;
    if (quiet >= 3) return (Date.now() - started) / 1000;
    await page.waitForTimeout(1000);
  }
  throw new Error(`Run All Cells did not finish within ${timeoutMs / 1000} s`);
}

export interface CellState {
  index: number;
  prompt: string;
  source: string;
  /** [data-mime-type, text] of each output. */
  outputs: [string, string][];
}

/** What the notebook shows now: each code cell's prompt, source and outputs. */
export async function codeCells(page: Page): Promise<CellState[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')).map((cell, index) => ({
      index,
      prompt: cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '',
      source: (cell.querySelector('.jp-InputArea-editor .cm-content') as HTMLElement | null)?.innerText ?? '',
      outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(
        (o) => [o.getAttribute('data-mime-type') ?? '', (o as HTMLElement).innerText ?? ''] as [string, string],
      ),
    })),
  );
}

/** tslab reports exceptions and type errors on stderr; the same test as cli/py/kernel.py. */
export function looksLikeError(stderr: string): boolean {
  return /^(\d+):(\d+) - /m.test(stderr) || stderr.includes('evalmachine.<anonymous>') || /^\w*Error: /m.test(stderr);
}

export interface PlotInfo {
  xTitle: string;
  yTitle: string;
  title: string;
  /** Trace types plotly drew (from the live figure object). */
  traceTypes: string[];
  /** SVG layers plotly drew and heatmap images inside them. */
  svgCount: number;
  heatmapImages: number;
  xTicks: string[];
  yTicks: string[];
  width: number;
  height: number;
}

/** The notebook on screen (JupyterLab keeps other open notebooks in the DOM, hidden). */
export const CURRENT_NOTEBOOK = '.jp-NotebookPanel:not(.lm-mod-hidden)';

/** Every rendered plotly figure on the page, as drawn (DOM text, not the spec). */
export async function plotlyFigures(page: Page, scope = 'body'): Promise<PlotInfo[]> {
  return page.evaluate((scopeSelector) => {
    const root = document.querySelector(scopeSelector) ?? document.body;
    return Array.from(root.querySelectorAll('.js-plotly-plot')).map((el) => {
      const gd = el as HTMLElement & { data?: { type?: string }[] };
      const rect = gd.getBoundingClientRect();
      const texts = (sel: string) => Array.from(gd.querySelectorAll(sel)).map((t) => t.textContent ?? '');
      return {
        xTitle: gd.querySelector('.xtitle')?.textContent ?? '',
        yTitle: gd.querySelector('.ytitle')?.textContent ?? '',
        title: gd.querySelector('.gtitle')?.textContent ?? '',
        traceTypes: (gd.data ?? []).map((t) => t.type ?? 'scatter'),
        svgCount: gd.querySelectorAll('svg.main-svg').length,
        heatmapImages: gd.querySelectorAll('.hm image, .heatmaplayer image').length,
        xTicks: texts('.xtick text'),
        yTicks: texts('.ytick text'),
        width: rect.width,
        height: rect.height,
      };
    });
  }, scope);
}

// ---------------------------------------------------------------------------------------------
// Reading what a notebook asks for.

export interface NotebookJson {
  cells: { cell_type: string; source: string | string[] }[];
}
export const sourceOf = (c: { source: string | string[] }) => (Array.isArray(c.source) ? c.source.join('') : c.source);

/**
 * The axis titles of the first heatmap the notebook draws, read from its source: the figure in
 * the browser must show exactly these.
 */
export function expectedHeatmapTitles(nb: NotebookJson): { xTitle: string; yTitle: string } {
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

