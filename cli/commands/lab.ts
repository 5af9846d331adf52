/** `attention-kit lab`: open the course in JupyterLab from the project's venv. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { KIT_ROOT, VENV_BIN, jupyterEnv, requireVenv } from '../paths.js';

export const summary = 'open the course in JupyterLab (extra arguments go to jupyter lab)';

export async function main(args: string[]): Promise<number> {
  requireVenv();
  const ci = process.env.CI === 'true';
  const result = spawnSync(
    join(VENV_BIN, 'jupyter'),
    ['lab', `--ServerApp.root_dir=${KIT_ROOT}`, '--LabApp.default_url=/lab/tree/notebooks/00-setup.ipynb', '--MappingKernelManager.default_kernel_name=tslab', ...(ci ? ['--no-browser'] : []), ...(process.getuid?.() === 0 ? ['--allow-root'] : []), ...args],
    { stdio: 'inherit', env: jupyterEnv() },
  );
  return result.status ?? 1;
}
