/**
 * `attention-kit doctor`: what works on this machine. Which backends load (and why not), their
 * matmul GFLOP/s, whether Jupyter and the tslab kernel are registered, whether a GPU is visible.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VENV, VENV_BIN, jupyterEnv } from '../paths.js';

export const summary = 'check backends (with matmul GFLOP/s), Jupyter, the kernel and the GPU (--json)';

function tryRun(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000, env: jupyterEnv() });
  } catch {
    return null;
  }
}

export async function main(args: string[]): Promise<number> {
  const asJson = args.includes('--json');
  const { tf, probeBackends, useBackend, matmulGflops } = await import('../../lib/index.js');
  const report: Record<string, unknown> = {};
  const log = (line: string): void => {
    if (!asJson) console.log(line);
  };

  log('Backends (fastest first):');
  const attempts = await probeBackends();
  const backends: unknown[] = [];
  for (const a of attempts) {
    let gflops: number | null = null;
    if (a.ok) {
      await useBackend(a.name);
      gflops = (await matmulGflops(512)).gflops;
    }
    backends.push({ ...a, matmulGflops512: gflops });
    log(`  ${a.ok ? '✓' : '✗'} ${a.name.padEnd(9)} ${a.ok ? `${gflops!.toFixed(1).padStart(7)} GFLOP/s (512×512 matmul)` : a.reason}`);
  }
  report.backends = backends;
  report.tfBackendAfter = tf.getBackend();

  log('\nJupyter:');
  const jupyterVersion = tryRun(join(VENV_BIN, 'jupyter'), ['lab', '--version'])?.trim() ?? null;
  const specs = tryRun(join(VENV_BIN, 'jupyter'), ['kernelspec', 'list', '--json']);
  const kernels = specs ? Object.keys((JSON.parse(specs) as { kernelspecs: Record<string, unknown> }).kernelspecs) : [];
  const specFile = join(VENV, 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json');
  const tslabSpec = existsSync(specFile) ? (JSON.parse(readFileSync(specFile, 'utf8')) as { argv: string[] }) : null;
  report.jupyter = { venv: existsSync(VENV), jupyterlab: jupyterVersion, kernels, tslabKernel: tslabSpec?.argv ?? null };
  log(`  venv          ${existsSync(VENV) ? VENV : 'missing: run npm run setup'}`);
  log(`  JupyterLab    ${jupyterVersion ?? 'not installed: run npm run setup'}`);
  log(`  kernels       ${kernels.join(', ') || 'none'}`);
  log(`  tslab kernel  ${tslabSpec ? tslabSpec.argv.slice(0, 2).join(' ') : 'not registered: run npm run setup'}`);

  log('\nGPU:');
  const smi = tryRun('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader']);
  const vulkan = tryRun('ldconfig', ['-p'])?.includes('libvulkan.so.1') ?? false;
  report.gpu = { nvidiaSmi: smi?.trim() || null, vulkanLoader: vulkan };
  log(`  NVIDIA        ${smi?.trim() || 'none visible (nvidia-smi not found or no device)'}`);
  log(`  Vulkan loader ${vulkan ? 'present' : 'absent (WebGPU through Dawn needs it on Linux)'}`);

  if (asJson) console.log(JSON.stringify(report, null, 1));
  const anyBackend = attempts.some((a) => a.ok);
  return anyBackend && tslabSpec ? 0 : 1;
}
