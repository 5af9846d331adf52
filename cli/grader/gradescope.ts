/**
 * The Gradescope autograder for one assignment: a zip with the kit's sources (no other
 * solutions, no tests, no notebooks), that assignment's instructor notebook, `setup.sh` (Node 20,
 * Python venv, `npm run setup`) and `run_autograder` (grades /autograder/submission into
 * /autograder/results/results.json). `AUTOGRADER_ROOT` moves /autograder (used by the tests).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { KIT_ROOT, VENV_PYTHON } from '../paths.js';

const KIT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'requirements.txt', 'bin', 'cli', 'lib', 'scripts'];

export function setupScript(): string {
  return `#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates curl python3 python3-venv >/dev/null
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash - >/dev/null
  apt-get install -y -qq nodejs >/dev/null
fi
cd /autograder/source
npm run setup --silent
# The instructor's notebook stays readable by root only (the grader); kernels run as another user.
chmod -R go-rwx /autograder/source/solutions
`;
}

export function runAutograderScript(assignment: string): string {
  return `#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT (default /autograder) is for tests.
set -uo pipefail
ROOT="\${AUTOGRADER_ROOT:-/autograder}"
KIT="$ROOT/source"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
node "$KIT/bin/attention-kit.mjs" grade "$ROOT/submission" --assignment ${assignment} \\
  --solutions "$KIT/solutions" --results "$ROOT/results/results.json"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  echo '{"score": 0, "output": "The autograder stopped before it could grade this submission; please tell your instructor."}' > "$ROOT/results/results.json"
fi
exit $status
`;
}

/** Stage the autograder's files in a folder (the zip's root). */
export function stageAutograder(assignment: string, solutionsDir: string, into: string): void {
  const solution = join(solutionsDir, `${assignment}.ipynb`);
  if (!/^[\w.-]+$/.test(assignment) || !existsSync(solution)) throw new Error(`no instructor notebook ${solution}`);
  mkdirSync(into, { recursive: true });
  for (const f of KIT_FILES) {
    if (existsSync(join(KIT_ROOT, f))) cpSync(join(KIT_ROOT, f), join(into, f), { recursive: true });
  }
  mkdirSync(join(into, 'solutions'), { recursive: true });
  cpSync(solution, join(into, 'solutions', `${assignment}.ipynb`));
  writeFileSync(join(into, 'setup.sh'), setupScript());
  writeFileSync(join(into, 'run_autograder'), runAutograderScript(assignment));
  chmodSync(join(into, 'setup.sh'), 0o755);
  chmodSync(join(into, 'run_autograder'), 0o755);
}

/** Build <out> (a .zip) for one assignment. */
export function buildAutograderZip(assignment: string, solutionsDir: string, out: string): string {
  const stage = mkdtempSync(join(tmpdir(), 'ak-gradescope-'));
  try {
    stageAutograder(assignment, solutionsDir, stage);
    const target = resolve(out);
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { force: true });
    const script = [
      'import os, sys, zipfile',
      'stage, out = sys.argv[1], sys.argv[2]',
      'with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:',
      '    for base, dirs, files in os.walk(stage):',
      '        dirs.sort()',
      '        for f in sorted(files):',
      '            full = os.path.join(base, f)',
      '            info = zipfile.ZipInfo.from_file(full, os.path.relpath(full, stage))',
      '            with open(full, "rb") as fh: z.writestr(info, fh.read(), zipfile.ZIP_DEFLATED)',
    ].join('\n');
    const python = existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3';
    const r = spawnSync(python, ['-c', script, stage, target], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`zipping failed: ${r.stderr.trim().split('\n').pop()}`);
    return target;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
