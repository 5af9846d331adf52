/**
 * `attention-kit bench`: time, GFLOP/s and peak tensor memory of exact, tiled, local, sparse and
 * linear attention over n = 128 … 8192 (d = 64, 8 heads), beside the backend's matmul GFLOP/s.
 * Prints a table, writes JSON and a plotly HTML page of the scaling curves (see lib/bench/attention.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { KIT_ROOT } from '../paths.js';

export const summary = 'benchmark the attention variants (--quick, --max-n N, --json F, --html F, --backend B, --inline-plotly)';

const USAGE = `usage: attention-kit bench [--quick] [--max-n N] [--json out.json] [--html out.html] [--backend wasm|cpu|...] [--inline-plotly]
  --quick          n = 128, 256 only (a smoke run; what the tests use)
  --max-n N        stop at sequence length N (default 8192)
  --json F         where to write the results (default bench/results/attention-<backend>.json)
  --html F         where to write the plotly page (default: the JSON path with .html)
  --backend B      force a backend rung (default: the fastest that loads)
  --inline-plotly  embed plotly.js in the page instead of referencing node_modules`;

export async function main(args: string[]): Promise<number> {
  const options: { quick: boolean; maxN?: number; json?: string; html?: string; backend?: string; inline: boolean } = { quick: false, inline: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--quick') options.quick = true;
    else if (a === '--max-n') options.maxN = Number(value());
    else if (a === '--json') options.json = value();
    else if (a === '--html') options.html = value();
    else if (a === '--backend') options.backend = value();
    else if (a === '--inline-plotly') options.inline = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`attention-kit bench: unknown option ${a}\n${USAGE}`);
      return 1;
    }
  }
  if (options.maxN !== undefined && !(options.maxN >= 128)) {
    console.error(`attention-kit bench: --max-n must be ≥ 128, got ${options.maxN}`);
    return 1;
  }

  const { initBackend, isBackendName } = await import('../../lib/index.js');
  const { defaultConfig, runAttentionBench, formatTable, benchHtml } = await import('../../lib/bench/attention.js');
  if (options.backend && !isBackendName(options.backend)) {
    console.error(`attention-kit bench: unknown backend ${options.backend}`);
    return 1;
  }
  const choice = await initBackend({ prefer: options.backend as never, verbose: false });
  console.log(`backend: ${choice.name} (${choice.reason})`);
  const config = defaultConfig({ quick: options.quick, maxN: options.maxN });
  console.log(`sizes: ${config.sizes.join(', ')}; methods: ${config.methods.join(', ')}\n`);
  const result = await runAttentionBench(config, (line) => console.log(line));
  console.log(`\n${formatTable(result)}\n`);

  const jsonPath = resolve(options.json ?? join(KIT_ROOT, 'bench', 'results', `attention-${choice.name}.json`));
  const htmlPath = resolve(options.html ?? jsonPath.replace(/\.json$/, '') + '.html');
  mkdirSync(dirname(jsonPath), { recursive: true });
  mkdirSync(dirname(htmlPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(result, null, 1));
  const plotlyFile = join(KIT_ROOT, 'node_modules', 'plotly.js-dist-min', 'plotly.min.js');
  const plotly = options.inline ? { inline: readFileSync(plotlyFile, 'utf8') } : { src: relative(dirname(htmlPath), plotlyFile).split('\\').join('/') };
  writeFileSync(htmlPath, benchHtml(result, plotly));
  console.log(`wrote ${relative(process.cwd(), jsonPath) || jsonPath} and ${relative(process.cwd(), htmlPath) || htmlPath} (${result.seconds.toFixed(0)} s)`);
  return 0;
}
