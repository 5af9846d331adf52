/**
 * Helpers for tests: run notebooks and the CLI, check tensor leaks, compare arrays.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

/** The kit's root folder (dist/test/helpers → ../../..). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(ROOT, 'bin', 'attention-kit.mjs');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run `attention-kit <args>` and capture its output. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20 * 60_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface NotebookCellReport {
  index: number;
  number: number;
  status: string;
  seconds: number;
  error?: string;
}
export interface NotebookReport {
  notebook: string;
  ok: boolean;
  seconds: number;
  kernel_start_seconds: number;
  cells: NotebookCellReport[];
  error: { cell: number; message: string; where: string } | null;
}

/**
 * Execute a notebook through the real tslab kernel (attention-kit run), writing the executed copy
 * to a temp folder. Returns the runner's JSON report, the executed notebook and the console text.
 */
export function executeNotebook(
  notebook: string,
  env: Record<string, string> = {},
  timeoutS = 600,
): { report: NotebookReport; executed: { cells: { cell_type: string; source: string | string[]; outputs?: unknown[] }[] }; result: CliResult } {
  const out = mkdtempSync(join(tmpdir(), 'nbrun-'));
  const json = join(out, 'report.json');
  const result = runCli(['run', '--timeout', String(timeoutS), '--output-dir', out, '--json', json, notebook], env);
  let report: NotebookReport;
  try {
    report = (JSON.parse(readFileSync(json, 'utf8')) as NotebookReport[])[0]!;
  } catch {
    throw new Error(`runner wrote no report for ${notebook}:\n${result.stdout}\n${result.stderr}`);
  }
  let executed = { cells: [] as { cell_type: string; source: string | string[]; outputs?: unknown[] }[] };
  try {
    executed = JSON.parse(readFileSync(join(out, notebook.split('/').pop()!), 'utf8'));
  } catch {
    // a notebook that could not be read has no executed copy
  }
  return { report, executed, result };
}

/** All text a notebook printed (stdout and stderr streams, text/plain results). */
export function notebookText(executed: { cells: { outputs?: unknown[] }[] }): string {
  const parts: string[] = [];
  for (const cell of executed.cells) {
    for (const o of (cell.outputs ?? []) as { output_type: string; text?: string | string[]; data?: Record<string, unknown> }[]) {
      if (o.output_type === 'stream') parts.push(Array.isArray(o.text) ? o.text.join('') : (o.text ?? ''));
      const plain = o.data?.['text/plain'];
      if (plain) parts.push(Array.isArray(plain) ? plain.join('') : String(plain));
    }
  }
  return parts.join('');
}

/** Assert that `fn` leaves no tensors behind. */
export async function assertNoLeaks<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `leaked ${after - before} tensor(s)`);
  return result;
}

/** Assert |a - b| ≤ atol + rtol·|b| elementwise, naming the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 0, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    const excess = diff - (atol + rtol * Math.abs(expected[i]!));
    if (Number.isNaN(diff) || excess > worstExcess) {
      worst = i;
      worstExcess = Number.isNaN(diff) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}
