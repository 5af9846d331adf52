"""Talk to a Jupyter kernel (tslab) one cell at a time, checking every reply.

tslab has two habits that a naive runner gets wrong:
  * it reports exceptions and type errors on stderr (and as a reply with status 'error'), not as
    'error' outputs, so a runner that looks only for error outputs misses them;
  * after a failing cell it answers every request of the next ~200 ms with status 'abort' and runs
    nothing, so cells sent back to back after a failure are silently skipped.
`KernelSession.execute` therefore reads the shell reply of each request, re-sends a cell that
was aborted (it never ran), and reports errors from the reply and from stderr.
"""
from __future__ import annotations

import os
import queue
import re
import time
from dataclasses import dataclass, field

ABORT_RETRY_DELAY_S = 0.3
ABORT_RETRIES = 20


@dataclass
class CellResult:
    status: str  # 'ok' | 'error' | 'timeout'
    seconds: float
    outputs: list = field(default_factory=list)
    error: str | None = None  # first line of the error
    error_detail: str | None = None  # the full error text
    error_line: int | None = None  # 1-based line in the cell source, when known
    aborted_retries: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 'ok'


# "1:7 - Type 'number' is not assignable to type 'string'."
TYPE_ERROR = re.compile(r'^(\d+):(\d+) - (.*)$', re.M)


def _stream_text(outputs: list, name: str) -> str:
    return ''.join(o.get('text', '') for o in outputs if o.get('output_type') == 'stream' and o.get('name') == name)


def looks_like_error(stderr: str) -> bool:
    """tslab prints uncaught exceptions as 'evalmachine.<anonymous>:N' traces and type errors as
    'L:C - message'; a plain console.error/warn is not a failure."""
    return bool(TYPE_ERROR.search(stderr)) or 'evalmachine.<anonymous>' in stderr or bool(
        re.search(r'^\w*Error: ', stderr, re.M)
    )


def _summarise_error(stderr: str, reply: dict, source: str) -> tuple[str, int | None]:
    m = TYPE_ERROR.search(stderr)
    if m:
        return f'TypeScript error at line {m.group(1)}: {m.group(3).strip()}', int(m.group(1))
    if reply.get('ename'):
        return f"{reply.get('ename')}: {reply.get('evalue')}", None
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    message = next((ln.strip() for ln in lines if re.match(r'^\s*\w*(Error|Exception)\b.*', ln)), None)
    # tslab echoes the failing (compiled) source line right after 'evalmachine.<anonymous>:N'.
    line_no = None
    for i, ln in enumerate(lines):
        if ln.startswith('evalmachine.<anonymous>') and i + 1 < len(lines):
            echoed = lines[i + 1].strip()
            for j, src in enumerate(source.splitlines(), start=1):
                if echoed and (echoed in src or src.strip().rstrip(';') == echoed.rstrip(';')):
                    line_no = j
                    break
            break
    return message or (lines[0] if lines else 'the cell failed (no message)'), line_no


def await_reply(kc, msg_id: str, deadline: float, on_message, check=None, poll: float = 1.0) -> tuple[str, dict]:
    """Wait for request msg_id: pass each of its iopub messages but 'status' to
    on_message(kind, content) until the kernel is idle, then read its shell reply.
    `check()` is asked while waiting; a state it returns ('memory', 'died', ...) ends the wait.
    Returns (state, reply content): state 'ok', 'timeout' or check's state."""

    def stopped() -> str | None:
        state = check() if check else None
        return state or ('timeout' if time.time() > deadline else None)

    idle = False
    while not idle:
        state = stopped()
        if state:
            return state, {}
        try:
            msg = kc.get_iopub_msg(timeout=max(0.01, min(deadline - time.time(), poll)))
        except queue.Empty:
            continue
        if msg['parent_header'].get('msg_id') != msg_id:
            continue
        if msg['msg_type'] == 'status':
            idle = msg['content'].get('execution_state') == 'idle'
        else:
            on_message(msg['msg_type'], msg['content'])
    while True:
        state = stopped()
        if state:
            return state, {}
        try:
            reply = kc.get_shell_msg(timeout=max(0.01, min(deadline - time.time(), poll)))
        except queue.Empty:
            continue
        if reply['parent_header'].get('msg_id') == msg_id:
            return 'ok', reply['content']


def send_cell(kc, source: str, deadline: float, on_message, check=None, poll: float = 1.0,
              store_history: bool = True) -> tuple[str, dict, str, int]:
    """Execute one cell and wait for its reply, re-sending it while tslab answers 'abort' (for
    ~200 ms after a failing cell it aborts every request, which therefore never ran).
    Returns (state, reply, msg_id of the last request, number of re-sends); see await_reply."""
    retries = 0
    while True:
        msg_id = kc.execute(source, store_history=store_history, allow_stdin=False)
        state, reply = await_reply(kc, msg_id, deadline, on_message, check, poll)
        if state == 'ok' and reply.get('status') == 'abort' and retries < ABORT_RETRIES:
            retries += 1
            time.sleep(ABORT_RETRY_DELAY_S)
            continue
        return state, reply, msg_id, retries


class KernelSession:
    """One running kernel. Use as a context manager."""

    def __init__(self, kernel_name: str = 'tslab', cwd: str | None = None, env: dict | None = None,
                 startup_timeout: float = 120):
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.env = env
        self.startup_timeout = startup_timeout
        self.km = None
        self.kc = None
        self.startup_seconds = 0.0

    def __enter__(self) -> 'KernelSession':
        import jupyter_client  # imported here so that the helpers above load without Jupyter

        t0 = time.time()
        self.km = jupyter_client.KernelManager(kernel_name=self.kernel_name)
        kwargs = {'cwd': self.cwd or os.getcwd()}
        if self.env is not None:
            kwargs['env'] = self.env
        self.km.start_kernel(**kwargs)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)
        self.startup_seconds = time.time() - t0
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        finally:
            if self.km is not None:
                self.km.shutdown_kernel(now=True)

    def execute(self, source: str, timeout: float = 300) -> CellResult:
        """Run one cell (re-sent while the kernel answers 'abort': it did not run)."""
        t0 = time.time()
        outputs: list = []

        def keep(kind: str, content: dict) -> None:
            if kind == 'stream':
                if outputs and outputs[-1].get('output_type') == 'stream' and outputs[-1]['name'] == content['name']:
                    outputs[-1]['text'] += content['text']
                else:
                    outputs.append({'output_type': 'stream', 'name': content['name'], 'text': content['text']})
            elif kind in ('display_data', 'execute_result'):
                out = {'output_type': kind, 'data': content.get('data', {}), 'metadata': content.get('metadata', {})}
                if kind == 'execute_result':
                    out['execution_count'] = content.get('execution_count')
                outputs.append(out)
            elif kind == 'error':
                outputs.append({'output_type': 'error', 'ename': content.get('ename', ''),
                                'evalue': content.get('evalue', ''), 'traceback': content.get('traceback', [])})
            elif kind == 'clear_output':
                outputs.clear()

        state, reply, msg_id, retries = send_cell(self.kc, source, t0 + timeout, keep)
        if state == 'timeout':
            self.km.interrupt_kernel()
            # Drain the interrupted request so that the next cell starts clean.
            await_reply(self.kc, msg_id, time.time() + 10, lambda kind, content: None)
            return CellResult('timeout', time.time() - t0, outputs,
                              error=f'timed out after {timeout:g} s', aborted_retries=retries)
        status = reply.get('status')
        seconds = time.time() - t0
        stderr = _stream_text(outputs, 'stderr')
        has_error_output = any(o['output_type'] == 'error' for o in outputs)
        if status == 'abort':
            return CellResult('error', seconds, outputs, error='the kernel kept aborting this cell',
                              aborted_retries=retries)
        if status == 'error' or has_error_output or looks_like_error(stderr):
            message, line = _summarise_error(stderr, reply, source)
            return CellResult('error', seconds, outputs, error=message, error_detail=stderr or None,
                              error_line=line, aborted_retries=retries)
        return CellResult('ok', seconds, outputs, aborted_retries=retries)
