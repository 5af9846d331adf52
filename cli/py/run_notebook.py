"""Execute notebooks top to bottom through the real kernel: `attention-kit run` calls this.

    python run_notebook.py [--timeout S] [--inplace | --output-dir DIR] [--json FILE] NB...

Prints each cell's time, stops a notebook at its first failing cell (the error, the cell and its
source line), exits 1 when any notebook failed and 2 when a notebook could not be read. The
notebook it ran is never written unless --inplace (or --output-dir) asks for it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import nbformat

from kernel import KernelSession


def load_notebook(path: str):
    """Read and validate a notebook; raise ValueError with a one-line reason."""
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise ValueError(f'{path}: no such file')
    except Exception as exc:  # JSON errors, wrong nbformat
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f'{path}: not a valid notebook ({first})')
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise ValueError(f'{path}: not a valid notebook ({exc.message})')
    return nb


def kernel_name_of(nb, default: str) -> str:
    return (nb.metadata.get('kernelspec') or {}).get('name') or default


def run_one(path: str, args) -> dict:
    nb = load_notebook(path)
    name = os.path.basename(path)
    cwd = os.path.dirname(os.path.abspath(path))
    kernel = args.kernel or kernel_name_of(nb, 'tslab')
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == 'code' and c.source.strip()]
    report = {'notebook': path, 'kernel': kernel, 'cells': [], 'ok': True, 'error': None}
    print(f'▶ {name}: {len(code_cells)} code cells, kernel {kernel}', flush=True)
    t0 = time.time()
    with KernelSession(kernel, cwd=cwd) as session:
        report['kernel_start_seconds'] = round(session.startup_seconds, 2)
        print(f'  kernel started in {session.startup_seconds:.1f} s', flush=True)
        for n, (index, cell) in enumerate(code_cells, start=1):
            result = session.execute(cell.source, timeout=args.timeout)
            cell.outputs = [nbformat.from_dict(o) for o in result.outputs]
            cell.execution_count = n
            entry = {'index': index, 'number': n, 'status': result.status, 'seconds': round(result.seconds, 3),
                     'aborted_retries': result.aborted_retries}
            if args.echo:
                for o in result.outputs:
                    if o['output_type'] == 'stream':
                        sys.stdout.write(''.join('      | ' + ln + '\n' for ln in o['text'].rstrip('\n').splitlines()))
            if result.ok:
                print(f'  ✓ cell {n:>2} (#{index}) {result.seconds:7.2f} s', flush=True)
                report['cells'].append(entry)
                continue
            src_lines = cell.source.splitlines()
            line = result.error_line
            where = f'line {line}: {src_lines[line - 1].strip()}' if line and 0 < line <= len(src_lines) else \
                f'first line: {src_lines[0].strip() if src_lines else ""}'
            entry.update({'error': result.error, 'line': line, 'source_line': where})
            report['cells'].append(entry)
            report['ok'] = False
            report.setdefault('errors', []).append({'cell': n, 'index': index, 'message': result.error, 'where': where})
            if report['error'] is None:
                report['error'] = {'cell': n, 'index': index, 'message': result.error, 'where': where}
            print(f'  ✗ cell {n:>2} (#{index}) {result.seconds:7.2f} s  {result.status.upper()}: {result.error}', flush=True)
            print(f'      {where}', flush=True)
            if result.error_detail and args.verbose:
                print(''.join('      ' + ln + '\n' for ln in result.error_detail.splitlines()[:20]), flush=True)
            if args.keep_going:
                continue
            not_run = len(code_cells) - n
            if not_run:
                print(f'  … {not_run} later cell(s) not run', flush=True)
            break
    report['seconds'] = round(time.time() - t0, 2)
    print(f'{"✓" if report["ok"] else "✗"} {name}: {report["seconds"]:.1f} s', flush=True)
    if args.inplace or args.output_dir:
        out_path = path if args.inplace else os.path.join(args.output_dir, name)
        if args.output_dir:
            os.makedirs(args.output_dir, exist_ok=True)
        nbformat.write(nb, out_path)
        report['written'] = out_path
    return report


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog='attention-kit run')
    p.add_argument('notebooks', nargs='+')
    p.add_argument('--timeout', type=float, default=600, help='seconds per cell (default 600)')
    p.add_argument('--kernel', default=None, help="kernel name (default: the notebook's, else tslab)")
    p.add_argument('--inplace', action='store_true', help='write outputs back into the notebook')
    p.add_argument('--output-dir', default=None, help='write executed copies here')
    p.add_argument('--json', default=None, help='write a JSON report here')
    p.add_argument('--keep-going', action='store_true',
                   help='run the cells after a failing one too (each is re-sent until the kernel stops aborting)')
    p.add_argument('--echo', action='store_true', help="print each cell's stdout/stderr")
    p.add_argument('--verbose', action='store_true', help='print the full error text')
    args = p.parse_args(argv)
    reports, exit_code = [], 0
    for path in args.notebooks:
        try:
            reports.append(run_one(path, args))
            if not reports[-1]['ok']:
                exit_code = max(exit_code, 1)
        except ValueError as exc:
            print(f'✗ {exc}', file=sys.stderr, flush=True)
            reports.append({'notebook': path, 'ok': False, 'error': {'message': str(exc)}})
            exit_code = 2
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(reports, f, indent=1)
    failed = [r['notebook'] for r in reports if not r['ok']]
    if len(args.notebooks) > 1:
        print(f'notebooks run: {len(reports) - len(failed)} ok, {len(failed)} failed' + (f': {", ".join(failed)}' if failed else ''))
    return exit_code


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
