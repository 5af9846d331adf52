/**
 * The backend ladder: pick the fastest TensorFlow.js backend that works on this machine and say
 * which one and why.
 *
 *   node-gpu (@tensorflow/tfjs-node-gpu, CUDA)
 *   → webgpu  (@tensorflow/tfjs-backend-webgpu on Dawn's Node binding, the `webgpu` package)
 *   → node    (@tensorflow/tfjs-node, native libtensorflow on the CPU)
 *   → wasm    (@tensorflow/tfjs-backend-wasm, ships its own .wasm; one thread in Node)
 *   → cpu     (plain JavaScript, always there)
 *
 * The native and GPU packages are optional dependencies: where their install failed (tfjs-node
 * downloads libtensorflow at install time, which fails on machines without internet access) the
 * ladder simply steps down. `ATTN_BACKEND=<name>` or `initBackend({ prefer })` forces one rung;
 * a forced rung that cannot load is an error that names what to install.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmGapKernels } from './backend-wasm-kernels.js';

export type BackendName = 'node-gpu' | 'webgpu' | 'node' | 'wasm' | 'cpu';

/** Fastest first. */
export const BACKEND_LADDER: readonly BackendName[] = ['node-gpu', 'webgpu', 'node', 'wasm', 'cpu'];

/** The name TensorFlow.js itself uses for each rung (`tf.getBackend()`). */
export const TF_BACKEND_NAME: Record<BackendName, string> = {
  'node-gpu': 'tensorflow',
  webgpu: 'webgpu',
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** What a learner installs to get each rung. */
export const INSTALL_HINT: Record<BackendName, string> = {
  'node-gpu':
    'npm install @tensorflow/tfjs-node-gpu@4.22.0 (needs CUDA 11.2 + cuDNN 8.1 and internet access at install time to download libtensorflow)',
  webgpu:
    'npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0, and a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) GPU driver',
  node: 'npm install @tensorflow/tfjs-node@4.22.0 (its install script downloads libtensorflow, so it needs internet access)',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm@4.22.0',
  cpu: 'nothing: the cpu backend ships with @tensorflow/tfjs',
};

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it loaded or why not, in one line. */
  reason: string;
  /** Milliseconds spent trying. */
  ms: number;
}

export interface BackendChoice {
  /** The rung in use. */
  name: BackendName;
  /** `tf.getBackend()` after the choice. */
  tfBackend: string;
  /** True when ATTN_BACKEND or `prefer` chose the rung. */
  forced: boolean;
  /** One line a learner can read: which backend and why. */
  reason: string;
  /** Every rung tried, in order. */
  attempts: BackendAttempt[];
}

export interface InitBackendOptions {
  /** Force this rung (overrides ATTN_BACKEND). */
  prefer?: BackendName;
  /** Treat these rungs as unavailable (also ATTN_BACKEND_DISABLE=a,b): for tests and comparisons. */
  disable?: readonly BackendName[];
  /** Print the choice (default true). */
  verbose?: boolean;
  /** Environment to read ATTN_BACKEND / ATTN_BACKEND_DISABLE from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Raised when a forced backend cannot be loaded. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    readonly why: string,
  ) {
    super(`backend '${backend}' is not available here: ${why}. To get it: ${INSTALL_HINT[backend]}`);
    this.name = 'BackendUnavailableError';
  }
}

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_LADDER as readonly string[]).includes(name);
}

function parseBackendName(name: string, source: string): BackendName {
  const trimmed = name.trim().toLowerCase();
  const alias: Record<string, BackendName> = { tensorflow: 'node', 'tfjs-node': 'node', 'tfjs-node-gpu': 'node-gpu', gpu: 'node-gpu' };
  const resolved = alias[trimmed] ?? trimmed;
  if (!isBackendName(resolved)) {
    throw new Error(`${source}='${name}' is not a backend; expected one of ${BACKEND_LADDER.join(', ')}`);
  }
  return resolved;
}

// Dynamic imports go through a variable so that TypeScript does not need the optional packages'
// types at build time (they may not be installed).
async function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}

function firstLine(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    const pkg = /(?:package|module) '([^']+)'/.exec(String((error as Error).message))?.[1];
    return `${pkg ?? 'package'} is not installed`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim() !== '')?.trim() ?? message;
}

/** Once a native TensorFlow package is loaded it owns the 'tensorflow' backend name. */
let nativePackageLoaded: 'node' | 'node-gpu' | null = null;

async function prepareNative(which: 'node' | 'node-gpu'): Promise<void> {
  if (nativePackageLoaded !== null && nativePackageLoaded !== which) {
    throw new Error(`@tensorflow/tfjs-${nativePackageLoaded === 'node' ? 'node' : 'node-gpu'} is already loaded in this process`);
  }
  await importOptional(which === 'node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu');
  nativePackageLoaded = which;
  if (which === 'node-gpu') {
    // tfjs-node-gpu loads without a usable GPU and then runs on the CPU; only call it a GPU rung
    // when TensorFlow really sees a CUDA device.
    const gpus = await listCudaDevices();
    if (gpus === 0) throw new Error('tfjs-node-gpu loaded but TensorFlow sees no CUDA device');
  }
}

/** Number of CUDA devices TensorFlow sees, 0 when unknown. */
async function listCudaDevices(): Promise<number> {
  try {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('nvidia-smi', ['--list-gpus'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((line) => line.startsWith('GPU')).length;
  } catch {
    return 0;
  }
}

/** Dawn needs a Vulkan loader on Linux; looking first keeps its native warning off stderr. */
async function hasVulkanLoader(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const { execFileSync } = await import('node:child_process');
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('libvulkan.so.1');
    } catch {
      // try the next location
    }
  }
  return true; // cannot tell: let Dawn try
}

async function prepareWebGpu(): Promise<void> {
  if (!(await hasVulkanLoader())) throw new Error('no Vulkan loader (libvulkan.so.1) on this machine, so Dawn cannot reach a GPU');
  const g = globalThis as Record<string, unknown> & { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    const dawn = (await importOptional('webgpu')) as {
      create: (flags: string[]) => { requestAdapter: (o?: unknown) => Promise<unknown> };
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    // Node 20 has no `navigator`; Node 21+ has one whose `gpu` we add.
    if (g.navigator === undefined) {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } else {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    }
  }
  const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter: (o?: unknown) => Promise<unknown> } } }).navigator.gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null || adapter === undefined) {
    throw new Error('Dawn found no GPU adapter (no Vulkan/Metal/D3D12 driver or no GPU)');
  }
  await importOptional('@tensorflow/tfjs-backend-webgpu');
}

async function prepareWasm(): Promise<void> {
  await importOptional('@tensorflow/tfjs-backend-wasm');
}

const PREPARE: Record<BackendName, () => Promise<void>> = {
  'node-gpu': () => prepareNative('node-gpu'),
  webgpu: prepareWebGpu,
  node: () => prepareNative('node'),
  wasm: prepareWasm,
  cpu: async () => {},
};

/** A 2x2 matmul with a known answer: a backend that loads but computes garbage is not usable. */
async function smokeTest(): Promise<void> {
  const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])));
  const values = Array.from(await product.data());
  product.dispose();
  const expected = [19, 22, 43, 50];
  if (values.some((v, i) => Math.abs(v - expected[i]!) > 1e-4)) {
    throw new Error(`smoke test failed: [[1,2],[3,4]]·[[5,6],[7,8]] gave ${JSON.stringify(values)}`);
  }
}

/**
 * Load one rung and make it the active backend. Throws BackendUnavailableError naming what to
 * install when it cannot.
 */
export async function useBackend(name: BackendName, disabled: readonly BackendName[] = []): Promise<BackendAttempt> {
  const started = Date.now();
  tf.env().set('PROD', true); // silences tfjs's "install tfjs-node" banner on stderr; initBackend says it instead
  try {
    if (disabled.includes(name)) throw new Error('disabled (ATTN_BACKEND_DISABLE or options.disable)');
    await PREPARE[name]();
    const tfName = TF_BACKEND_NAME[name];
    if (tf.findBackendFactory(tfName) === null && tf.findBackend(tfName) === null) {
      throw new Error(`TensorFlow.js has no '${tfName}' backend registered`);
    }
    // tf.setBackend resolves false (and logs) rather than throwing when the factory fails.
    const ok = await tf.setBackend(tfName);
    if (!ok) throw new Error(`tf.setBackend('${tfName}') failed`);
    await tf.ready();
    if (name === 'wasm') registerWasmGapKernels();
    await smokeTest();
    return { name, ok: true, reason: `loaded (tf backend '${tfName}')`, ms: Date.now() - started };
  } catch (error) {
    const reason = firstLine(error);
    throw Object.assign(new BackendUnavailableError(name, reason), {
      attempt: { name, ok: false, reason, ms: Date.now() - started } satisfies BackendAttempt,
    });
  }
}

function attemptOf(error: unknown, name: BackendName): BackendAttempt {
  const attempt = (error as { attempt?: BackendAttempt }).attempt;
  return attempt ?? { name, ok: false, reason: firstLine(error), ms: 0 };
}

let current: BackendChoice | null = null;

/** The last choice made by initBackend, or null before the first call. */
export function currentBackend(): BackendChoice | null {
  return current;
}

/**
 * Pick and activate a backend: the forced one (options.prefer, else ATTN_BACKEND), or the first
 * rung of the ladder that loads and passes a smoke test. Prints the choice and every failed rung
 * unless `verbose: false`. Idempotent: a second call with the same request returns the first
 * choice without reloading.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  const env = options.env ?? process.env;
  const verbose = options.verbose ?? true;
  const disabled = [
    ...(options.disable ?? []),
    ...(env.ATTN_BACKEND_DISABLE ?? '')
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => parseBackendName(s, 'ATTN_BACKEND_DISABLE')),
  ];
  const forcedName =
    options.prefer ?? (env.ATTN_BACKEND && env.ATTN_BACKEND.trim() !== '' ? parseBackendName(env.ATTN_BACKEND, 'ATTN_BACKEND') : undefined);
  const source = options.prefer ? 'initBackend({ prefer })' : 'ATTN_BACKEND';

  if (current && current.forced === (forcedName !== undefined) && (!forcedName || current.name === forcedName) && disabled.length === 0) {
    return current;
  }

  const attempts: BackendAttempt[] = [];
  if (forcedName) {
    try {
      attempts.push(await useBackend(forcedName, disabled));
    } catch (error) {
      if (verbose) console.log(`attention-kit: ${source}=${forcedName} requested but unavailable`);
      throw error;
    }
    current = {
      name: forcedName,
      tfBackend: tf.getBackend(),
      forced: true,
      reason: `${forcedName}, forced by ${source}`,
      attempts,
    };
  } else {
    for (const name of BACKEND_LADDER) {
      try {
        attempts.push(await useBackend(name, disabled));
        break;
      } catch (error) {
        attempts.push(attemptOf(error, name));
      }
    }
    const chosen = attempts.find((a) => a.ok);
    if (!chosen) {
      throw new Error(`no TensorFlow.js backend could be loaded:\n${attempts.map((a) => `  ${a.name}: ${a.reason}`).join('\n')}`);
    }
    const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
    current = {
      name: chosen.name,
      tfBackend: tf.getBackend(),
      forced: false,
      reason:
        skipped.length === 0
          ? `${chosen.name}, the fastest rung of the ladder`
          : `${chosen.name}, the fastest rung that loaded (skipped ${skipped.length}: ${skipped.join('; ')})`,
      attempts,
    };
  }
  if (verbose) {
    console.log(`attention-kit: backend = ${current.name} (tf '${current.tfBackend}')`);
    for (const a of current.attempts.filter((x) => !x.ok)) {
      console.log(`  ✗ ${a.name.padEnd(8)} ${a.reason}`);
    }
    if (current.name === 'wasm' || current.name === 'cpu') {
      console.log(`  (for a faster CPU backend: ${INSTALL_HINT.node})`);
    }
  }
  return current;
}

/**
 * Try every rung without keeping any of them active: which backends load here and why not.
 * Restores the backend that was active before.
 */
export async function probeBackends(options: { disable?: readonly BackendName[] } = {}): Promise<BackendAttempt[]> {
  const before = tf.getBackend();
  const results: BackendAttempt[] = [];
  for (const name of BACKEND_LADDER) {
    try {
      results.push(await useBackend(name, options.disable ?? []));
    } catch (error) {
      results.push(attemptOf(error, name));
    }
  }
  if (before) await tf.setBackend(before);
  return results;
}
