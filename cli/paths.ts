/** Where things are, relative to the installed kit. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The kit's root folder (the one with package.json), from dist/cli/paths.js. */
export const KIT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const VENV = join(KIT_ROOT, '.venv');
export const VENV_PYTHON = join(VENV, 'bin', 'python');
export const VENV_BIN = join(VENV, 'bin');
export const PY_DIR = join(KIT_ROOT, 'cli', 'py');
export const NOTEBOOKS = join(KIT_ROOT, 'notebooks');

/** Fail with the command that fixes it when the venv is missing. */
export function requireVenv(): void {
  if (!existsSync(VENV_PYTHON)) {
    throw new Error(`the project's Jupyter environment is missing (${VENV}); run \`npm run setup\` first`);
  }
}

/** Environment for Jupyter processes: the venv first on PATH, our kernels found first. */
export function jupyterEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${VENV_BIN}:${process.env.PATH ?? ''}`,
    VIRTUAL_ENV: VENV,
    PYTHONPATH: PY_DIR,
    PYTHONUNBUFFERED: '1',
    ATTENTION_KIT_ROOT: KIT_ROOT,
    ...extra,
  };
}
