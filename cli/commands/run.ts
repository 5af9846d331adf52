/**
 * `attention-kit run <notebook...>`: execute notebooks top to bottom through the real tslab kernel
 * (cli/py/run_notebook.py over jupyter_client), checking every reply; see that file for options.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PY_DIR, VENV_PYTHON, jupyterEnv, requireVenv } from '../paths.js';

export const summary = 'execute notebooks through the tslab kernel (--timeout S, --inplace, --output-dir D, --json F, --echo)';

export async function main(args: string[]): Promise<number> {
  requireVenv();
  const result = spawnSync(VENV_PYTHON, [join(PY_DIR, 'run_notebook.py'), ...args], { stdio: 'inherit', env: jupyterEnv() });
  return result.status ?? 1;
}
