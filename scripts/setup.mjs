#!/usr/bin/env node
// Installs whatever is missing, and nothing more, so that `npm start` and `npm test` work on a
// fresh clone: npm packages, the TypeScript build, the project's Python virtual environment with
// JupyterLab and nbclient, and the tslab kernel registered inside that venv (nothing global).
// Plain Node with no dependencies, because it runs before `npm install` has.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (msg) => quiet || console.log(`[setup] ${msg}`);

function run(cmd, args, opts = {}) {
  const started = Date.now();
  const result = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...opts });
  if (result.status !== 0) {
    console.error(`[setup] failed: ${cmd} ${args.join(' ')} (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  return (Date.now() - started) / 1000;
}

function hashOf(...files) {
  const h = createHash('sha256');
  for (const f of files) h.update(existsSync(f) ? readFileSync(f) : '');
  return h.digest('hex').slice(0, 16);
}

// 1. npm packages: install when a required package is missing or package.json changed.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const required = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
const npmStamp = join(root, 'node_modules', '.attention-kit-npm');
const npmHash = hashOf(join(root, 'package.json'), join(root, 'package-lock.json'));
const missing = required.filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));
if (missing.length > 0 || !existsSync(npmStamp) || readFileSync(npmStamp, 'utf8') !== npmHash) {
  say(missing.length > 0 ? `installing npm packages (missing: ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''})` : 'package.json changed: npm install');
  // Optional dependencies (tfjs-node, tfjs-node-gpu, webgpu) may fail to install; npm carries on.
  const secs = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
  writeFileSync(npmStamp, npmHash);
  say(`npm install took ${secs.toFixed(1)} s`);
}

// 2. The library by package name. tslab resolves modules the Node10 way (no "exports", no
//    self-reference), so node_modules/attention-kit must exist: a link to this folder.
const selfLink = join(root, 'node_modules', 'attention-kit');
let linkOk = false;
try {
  linkOk = lstatSync(selfLink).isSymbolicLink() && readlinkSync(selfLink) === '..';
} catch {
  linkOk = false;
}
if (!linkOk) {
  rmSync(selfLink, { recursive: true, force: true });
  symlinkSync('..', selfLink, 'dir');
  say('linked node_modules/attention-kit -> . (so notebooks can import the kit by name)');
}

// 3. The TypeScript build (incremental: fast when nothing changed).
{
  const secs = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', 'dist/.tsbuildinfo']);
  say(`build took ${secs.toFixed(1)} s`);
}

// 4. The Python virtual environment with Jupyter (JupyterLab, nbclient, the plotly renderer).
const venv = join(root, '.venv');
const venvPython = join(venv, 'bin', 'python');
const reqFile = join(root, 'requirements.txt');
const venvStamp = join(venv, '.attention-kit-requirements');
const reqHash = hashOf(reqFile);
if (!existsSync(venvPython) || !existsSync(venvStamp) || readFileSync(venvStamp, 'utf8') !== reqHash) {
  const python = process.env.PYTHON ?? 'python3';
  if (!existsSync(venvPython)) {
    say(`creating .venv with ${python}`);
    run(python, ['-m', 'venv', venv]);
  }
  say('installing Jupyter into .venv (pip install -r requirements.txt)');
  const secs = run(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', reqFile]);
  writeFileSync(venvStamp, reqHash);
  say(`pip install took ${secs.toFixed(1)} s`);
}

// 5. The tslab kernel, registered inside the venv only, pointing at this project's tslab.
//    Rewritten every time: a moved or re-cloned project gets correct absolute paths.
for (const [name, display, flags] of [
  ['tslab', 'TypeScript (attention-kit)', []],
  ['jslab', 'JavaScript (attention-kit)', ['--js']],
]) {
  const dir = join(venv, 'share', 'jupyter', 'kernels', name);
  mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, join(root, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', ...flags, '--config-path', '{connection_file}'],
    display_name: display,
    language: name === 'tslab' ? 'typescript' : 'javascript',
    env: { ATTENTION_KIT_ROOT: root },
  };
  const file = join(dir, 'kernel.json');
  const text = JSON.stringify(spec, null, 1) + '\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
    writeFileSync(file, text);
    say(`registered kernel '${name}' in .venv (${display})`);
  }
}

// A quick sanity check that Jupyter sees the kernel.
try {
  const out = execFileSync(join(venv, 'bin', 'jupyter'), ['kernelspec', 'list', '--json'], { encoding: 'utf8' });
  if (!JSON.parse(out).kernelspecs.tslab) throw new Error('tslab missing from `jupyter kernelspec list`');
} catch (error) {
  console.error(`[setup] Jupyter cannot see the tslab kernel: ${error.message}`);
  process.exit(1);
}
say('ready');
