/**
 * Notebooks as the grader sees them: nbformat 4 JSON with nbgrader cell metadata
 * (`nbgrader`: grade, grade_id, locked, points, solution, schema_version 3) and our own
 * `attention_kit` metadata on graded test cells (which student function the part calls, which
 * hidden case family tests it, which library functions are off limits).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface NbgraderMeta {
  grade: boolean;
  grade_id: string;
  locked: boolean;
  points?: number;
  solution: boolean;
  schema_version: 3;
  task?: boolean;
}

/** Our metadata on a graded test cell. */
export interface PartMeta {
  /** Name of the learner's function this part calls. */
  call: string;
  /** Hidden case family in cli/grader/cases.ts. */
  cases: string;
  /** Library names the learner may not use for this part (`maskedSoftmax`, `tf.softmax`). */
  off_limits?: string[];
  /** A short title for the report. */
  title?: string;
}

export interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: string | string[];
  metadata: { nbgrader?: NbgraderMeta; attention_kit?: PartMeta & { hidden?: boolean }; [k: string]: unknown };
  outputs?: unknown[];
  execution_count?: number | null;
  attachments?: unknown;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name?: string }; attention_kit?: { assignment?: string }; [k: string]: unknown };
  cells: Cell[];
}

/** A one-line, user-facing problem with an input file (no stack trace is shown for these). */
export class NotebookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookError';
  }
}

export function sourceOf(cell: Pick<Cell, 'source'>): string {
  return Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
}

/** Split source into nbformat's list-of-lines form (each line keeps its newline). */
export function toSourceLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

/** Parse and sanity-check notebook JSON; throws NotebookError with a one-line reason. */
export function parseNotebook(text: string, label: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : 'invalid JSON';
    throw new NotebookError(`${label}: not a valid notebook (not JSON: ${why})`);
  }
  const bad = (why: string): never => {
    throw new NotebookError(`${label}: not a valid notebook (${why})`);
  };
  if (typeof nb !== 'object' || nb === null || Array.isArray(nb)) bad('top level is not an object');
  const o = nb as Record<string, unknown>;
  if (o.nbformat !== 4) bad(`nbformat ${JSON.stringify(o.nbformat)}, expected 4`);
  if (!Array.isArray(o.cells)) bad('no cells list');
  if (typeof o.metadata !== 'object' || o.metadata === null) o.metadata = {};
  for (const [i, c] of (o.cells as unknown[]).entries()) {
    if (typeof c !== 'object' || c === null) bad(`cell ${i} is not an object`);
    const cell = c as Record<string, unknown>;
    if (!['code', 'markdown', 'raw'].includes(String(cell.cell_type))) bad(`cell ${i} has cell_type ${JSON.stringify(cell.cell_type)}`);
    const src = cell.source;
    if (!(typeof src === 'string' || (Array.isArray(src) && src.every((s) => typeof s === 'string')))) bad(`cell ${i} has no text source`);
    if (typeof cell.metadata !== 'object' || cell.metadata === null || Array.isArray(cell.metadata)) cell.metadata = {};
  }
  return nb as Notebook;
}

export function readNotebook(path: string): Notebook {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new NotebookError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : 'cannot be read'}`);
  }
  return parseNotebook(text, path);
}

/** The nbgrader metadata of a cell, when it is well formed. */
export function nbgraderOf(cell: Cell): NbgraderMeta | null {
  const m = cell.metadata?.nbgrader;
  if (!m || typeof m !== 'object' || typeof m.grade_id !== 'string') return null;
  return m;
}

export function isTestCell(cell: Cell): boolean {
  const m = nbgraderOf(cell);
  return cell.cell_type === 'code' && !!m && m.grade === true && m.solution !== true;
}

export function isSolutionCell(cell: Cell): boolean {
  const m = nbgraderOf(cell);
  return cell.cell_type === 'code' && !!m && m.solution === true;
}

export function isLockedCodeCell(cell: Cell): boolean {
  const m = nbgraderOf(cell);
  return cell.cell_type === 'code' && !!m && m.locked === true && m.solution !== true && m.grade !== true;
}

export function isHiddenCell(cell: Cell): boolean {
  return cell.metadata?.attention_kit?.hidden === true;
}

/** The assignment a notebook belongs to: its metadata, else its file name without extension. */
export function assignmentOf(nb: Notebook, path: string): string {
  const fromMeta = nb.metadata?.attention_kit?.assignment;
  if (typeof fromMeta === 'string' && /^[\w.-]+$/.test(fromMeta)) return fromMeta;
  return basename(path).replace(/\.ipynb$/, '');
}

/** Stable JSON for a notebook as we write it (one-space indent like nbformat, trailing newline). */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + '\n';
}
