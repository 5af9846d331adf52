/**
 * Where a submission runs: a scratch folder holding a copy of the kit's library (dist/lib only:
 * no solutions, no grader, no tests) and links to its npm dependencies, a tslab kernel started
 * in that folder as an unprivileged user (when the grader is root), inside Node's permission
 * model (reads limited to the scratch folder and the dependencies; no writes, no child
 * processes, no workers), with a heap limit and a resident-memory watchdog.
 *
 * `KernelDriver` talks to cli/py/grader_driver.py, which drives the kernel over Jupyter's
 * protocol; every reply carries a random token the kernel never sees.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { KIT_ROOT, PY_DIR, VENV_PYTHON, jupyterEnv } from '../paths.js';

export const SANDBOX_USER = process.env.ATTN_GRADER_USER ?? 'attnkit-grader';

export interface SandboxUser {
  name: string;
  uid: number;
  gid: number;
}

/** The unprivileged user kernels run as: created with useradd when missing. Null when not root. */
export function ensureSandboxUser(): SandboxUser | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const lookup = (): SandboxUser | null => {
    try {
      const uid = Number(execFileSync('id', ['-u', SANDBOX_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', SANDBOX_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { name: SANDBOX_USER, uid, gid };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', SANDBOX_USER], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    // Two graders creating the user at once: the other one won.
    const again = lookup();
    if (again) return again;
    throw new Error(`cannot create the sandbox user ${SANDBOX_USER} (useradd failed: ${String((error as Error).message).split('\n')[0]})`);
  }
  const created = lookup();
  if (!created) throw new Error(`useradd ran but ${SANDBOX_USER} does not exist`);
  return created;
}

export interface SandboxOptions {
  /** Resident memory limit of the kernel in MiB (the watchdog kills it above this). */
  memoryMb: number;
}

export interface Sandbox {
  dir: string;
  /** The kernel's working directory. */
  box: string;
  user: SandboxUser | null;
  /** How the kernel runs, for the report. */
  describe: string;
  driverEnv: NodeJS.ProcessEnv;
  kernelName: string;
  kernelEnv: Record<string, string>;
  cleanup: () => void;
}

/** Build the scratch folder and the kernel spec. */
export function createSandbox(options: SandboxOptions): Sandbox {
  const user = ensureSandboxUser();
  if (user) requireTraversable(join(KIT_ROOT, 'node_modules'));
  const dir = mkdtempSync(join(tmpdir(), 'ak-grade-'));
  chmodSync(dir, 0o711);
  const box = join(dir, 'box');
  const kit = join(dir, 'kit');
  const priv = join(dir, 'private'); // the grader's own: kernel spec; never readable by the kernel
  const runtime = join(dir, 'runtime'); // connection files (each handed to the sandbox user)
  for (const d of [box, kit, priv, runtime]) mkdirSync(d, { recursive: true });
  chmodSync(priv, 0o700);
  chmodSync(box, 0o755);
  chmodSync(kit, 0o755);
  chmodSync(runtime, 0o711);

  // The library only: package.json and dist/lib (compiled JS and .d.ts).
  cpSync(join(KIT_ROOT, 'package.json'), join(kit, 'package.json'));
  cpSync(join(KIT_ROOT, 'dist', 'lib'), join(kit, 'dist', 'lib'), { recursive: true, filter: (src) => !src.endsWith('.map') });
  const modules = join(box, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(KIT_ROOT, 'node_modules'))) {
    if (entry === 'attention-kit' || entry.startsWith('.')) continue;
    symlinkSync(join(KIT_ROOT, 'node_modules', entry), join(modules, entry));
  }
  symlinkSync(kit, join(modules, 'attention-kit'));
  // The kit copy resolves its own dependencies through the same links.
  symlinkSync(modules, join(kit, 'node_modules'));

  const node = process.execPath;
  const allowRead = [box, kit, runtime, join(KIT_ROOT, 'node_modules'), '/usr', '/etc', '/proc', '/lib', '/lib64'];
  const heapMb = Math.max(256, Math.floor(options.memoryMb * 0.75));
  const argv = [
    VENV_PYTHON,
    join(PY_DIR, 'grader_driver.py'),
    'launch',
    ...(user ? ['--uid', String(user.uid), '--gid', String(user.gid)] : []),
    '--',
    node,
    `--max-old-space-size=${heapMb}`,
    '--experimental-permission',
    '--allow-addons', // zeromq, tslab's Jupyter transport, is a native addon
    ...allowRead.map((p) => `--allow-fs-read=${p}/*`),
    '--no-warnings',
    join(KIT_ROOT, 'node_modules', 'tslab', 'bin', 'tslab'),
    'kernel',
    '--config-path',
    '{connection_file}',
  ];
  const kernelName = 'attnkit-sandbox';
  const specDir = join(priv, 'jupyter', 'kernels', kernelName);
  mkdirSync(specDir, { recursive: true });
  writeFileSync(join(specDir, 'kernel.json'), JSON.stringify({ argv, display_name: 'attention-kit grader sandbox', language: 'typescript' }, null, 1));

  // The kernel gets a bare environment: nothing of the grader's.
  const kernelEnv: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: box, LANG: 'C.UTF-8', TMPDIR: box };
  for (const key of ['ATTN_BACKEND', 'ATTN_BACKEND_DISABLE']) if (process.env[key]) kernelEnv[key] = process.env[key]!;
  const driverEnv = jupyterEnv({ JUPYTER_PATH: join(priv, 'jupyter'), JUPYTER_RUNTIME_DIR: runtime, JUPYTER_DATA_DIR: join(priv, 'data'), JUPYTER_CONFIG_DIR: join(priv, 'config') });

  const describe = user
    ? `tslab kernel as user ${user.name} (uid ${user.uid}) in ${box}, Node permission model (reads: scratch + dependencies; no writes, child processes or workers), heap ${heapMb} MiB, RSS ≤ ${options.memoryMb} MiB`
    : `tslab kernel as the current user (not root, so no separate user), Node permission model (reads: scratch + dependencies; no writes, child processes or workers), heap ${heapMb} MiB, RSS ≤ ${options.memoryMb} MiB`;
  return {
    dir,
    box,
    user,
    describe,
    driverEnv,
    kernelName,
    kernelEnv,
    cleanup: () => {
      killProcessesMentioning(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The sandbox user reads the kit's dependencies in place: every folder on the way must let others in. */
function requireTraversable(path: string): void {
  let dir = path;
  for (;;) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(`the sandbox user ${SANDBOX_USER} cannot enter ${dir} (no execute bit for others): chmod o+x it, or grade as a normal user`);
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/**
 * Last line of defence against a kernel that outlived its driver: kill the processes whose
 * command line names this grading run's own scratch folder (a fresh random path).
 */
function killProcessesMentioning(dir: string): void {
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${dir}/`)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already, or not ours to read
    }
  }
}

export interface ExecReply {
  status: 'ok' | 'error' | 'timeout' | 'died' | 'memory' | 'driver-error';
  stdout: string;
  stderr: string;
  error?: string | null;
  seconds: number;
}

/** The grader's side of the JSON-lines conversation with grader_driver.py. */
export class KernelDriver {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly token = randomBytes(16).toString('hex');
  private readonly waiting: ((line: Record<string, unknown> | null) => void)[] = [];
  private closed = false;

  constructor(private readonly sandbox: Sandbox, memoryMb: number) {
    this.proc = spawn(VENV_PYTHON, [join(PY_DIR, 'grader_driver.py')], { env: sandbox.driverEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', () => {}); // jupyter_client's own warnings: not part of the reply channel
    const lines = createInterface({ input: this.proc.stdout });
    lines.on('line', (line) => {
      let msg: Record<string, unknown> | null = null;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        msg = null;
      }
      if (!msg || msg.token !== this.token) return; // not from the driver: ignore
      this.waiting.shift()?.(msg);
    });
    this.proc.on('close', () => {
      this.closed = true;
      while (this.waiting.length) this.waiting.shift()!(null);
    });
    this.proc.stdin.write(
      JSON.stringify({ token: this.token, config: { kernel_name: sandbox.kernelName, cwd: sandbox.box, env: sandbox.kernelEnv, memory_mb: memoryMb } }) + '\n',
    );
  }

  private request(req: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown> | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The driver itself hung: give up on it.
        this.kill();
        resolve(null);
      }, timeoutMs);
      this.waiting.push((msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  async start(): Promise<number> {
    const r = await this.request({ op: 'start' }, 180_000);
    if (!r || r.ok !== true) throw new Error(`the grading kernel did not start${r?.error ? `: ${String(r.error)}` : ''}`);
    return Number(r.seconds);
  }

  async restart(): Promise<number> {
    const r = await this.request({ op: 'restart' }, 180_000);
    if (!r || r.ok !== true) throw new Error(`the grading kernel did not restart${r?.error ? `: ${String(r.error)}` : ''}`);
    return Number(r.seconds);
  }

  async exec(code: string, timeoutS: number): Promise<ExecReply> {
    const r = await this.request({ op: 'exec', code, timeout: timeoutS }, (timeoutS + 30) * 1000);
    if (!r) return { status: 'driver-error', stdout: '', stderr: '', error: 'the kernel driver stopped', seconds: timeoutS };
    return {
      status: (r.status as ExecReply['status']) ?? 'driver-error',
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      error: (r.error as string | null | undefined) ?? null,
      seconds: Number(r.seconds ?? 0),
    };
  }

  async stop(): Promise<void> {
    if (!this.closed) await this.request({ op: 'stop' }, 30_000);
    this.kill();
  }

  kill(): void {
    if (!this.closed) this.proc.kill('SIGKILL');
  }
}
