"""The grader's kernel driver: runs an untrusted submission's code in a sandboxed tslab kernel.

`attention-kit grade` (cli/grader/driver.ts) starts this script and talks to it in JSON lines:

    stdin:  first line {"token": T}; then {"op": "start" | "exec" | "restart" | "stop", ...}
    stdout: one JSON object per request, each carrying T (the kernel never learns T)

Everything the kernel prints arrives here over Jupyter's iopub channel, as data. The kernel
process's own stdout/stderr go to /dev/null, so student code cannot write fake replies onto this
script's stdout. A watchdog thread kills the kernel when its resident memory passes the limit;
a cell that runs past its time limit, exits the process or is killed for memory is reported
as 'timeout', 'died' or 'memory' and the caller restarts the kernel.

    python grader_driver.py launch --uid U --gid G --memory-mb M -- node ... {connection_file}

is the kernel launcher named in the sandbox's kernel.json: as root it hands the connection
file to the sandbox user, drops every privilege and execs node; as a normal user it just execs.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time

from kernel import TYPE_ERROR, looks_like_error, send_cell  # tslab's habits, handled once

POLL_S = 0.2


def launch(argv: list[str]) -> None:
    """Kernel launcher: drop to the sandbox user, set resource limits, exec the kernel."""
    uid = gid = None
    memory_mb = 0
    while argv and argv[0] != '--':
        flag, value, argv = argv[0], argv[1], argv[2:]
        if flag == '--uid':
            uid = int(value)
        elif flag == '--gid':
            gid = int(value)
        elif flag == '--memory-mb':
            memory_mb = int(value)
    cmd = argv[1:]
    connection_file = cmd[-1]
    # No core dumps, no huge files, a bounded number of open files.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    if uid is not None and os.geteuid() == 0:
        os.chown(connection_file, uid, gid if gid is not None else uid)
        os.setgroups([])
        os.setgid(gid if gid is not None else uid)
        os.setuid(uid)
        if os.geteuid() == 0:
            raise SystemExit('grader: could not drop root privileges')
    os.environ['HOME'] = os.getcwd()
    os.execv(cmd[0], cmd)


def rss_mb(pid: int) -> float:
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Sandbox:
    def __init__(self, kernel_name: str, cwd: str, env: dict, memory_mb: int, startup_timeout: float = 120):
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.env = env
        self.memory_mb = memory_mb
        self.startup_timeout = startup_timeout
        self.km = None
        self.kc = None
        self.killed_for_memory = False
        self.kernel_pid: int | None = None
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> float:
        import jupyter_client

        t0 = time.time()
        self.killed_for_memory = False
        # The connection file goes where the sandboxed kernel may read it (JUPYTER_RUNTIME_DIR).
        runtime = os.environ.get('JUPYTER_RUNTIME_DIR') or self.cwd
        self.km = jupyter_client.KernelManager(kernel_name=self.kernel_name,
                                               connection_file=os.path.join(runtime, f'kernel-{os.urandom(8).hex()}.json'))
        # The kernel's own stdout/stderr never reach this process's stdout (our reply channel).
        # ATTN_GRADER_KERNEL_LOG (a file) keeps the kernel's stderr for debugging the sandbox.
        log_path = os.environ.get('ATTN_GRADER_KERNEL_LOG')
        log = open(log_path, 'ab') if log_path else subprocess.DEVNULL
        self.km.start_kernel(cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
        self.kernel_pid = self.pid()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)
        self._watch_stop.clear()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        return time.time() - t0

    def pid(self) -> int | None:
        try:
            return self.km.provisioner.process.pid  # type: ignore[union-attr]
        except Exception:
            return None

    def _watch(self) -> None:
        while not self._watch_stop.is_set():
            pid = self.pid()
            if pid and self.memory_mb and rss_mb(pid) > self.memory_mb:
                self.killed_for_memory = True
                self._kill_group()
                return
            time.sleep(POLL_S)

    def _kill_group(self) -> None:
        pid = self.pid() or self.kernel_pid
        if pid is None:
            return
        try:
            os.killpg(os.getpgid(pid), 9)  # jupyter_client starts kernels in their own session
        except OSError:
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    def stop(self) -> None:
        self._watch_stop.set()
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        except Exception:
            pass
        self._kill_group()
        try:
            if self.km is not None:
                self.km.shutdown_kernel(now=True)
        except Exception:
            pass
        self.km = self.kc = None

    # -- execution ---------------------------------------------------------------------------
    def _alive(self) -> bool:
        try:
            return bool(self.km.is_alive())
        except Exception:
            return False

    def execute(self, code: str, timeout: float) -> dict:
        t0 = time.time()
        stdout: list[str] = []
        stderr: list[str] = []

        def keep(kind: str, content: dict) -> None:
            if kind == 'stream':
                (stdout if content.get('name') == 'stdout' else stderr).append(content.get('text', ''))
            elif kind == 'error':
                stderr.append(f"{content.get('ename', '')}: {content.get('evalue', '')}\n")
            elif kind == 'execute_result':
                stdout.append(str(content.get('data', {}).get('text/plain', '')) + '\n')

        def check() -> str | None:
            if self.killed_for_memory:
                return 'memory'
            return None if self._alive() else ('memory' if self.killed_for_memory else 'died')

        state, reply, _, _ = send_cell(self.kc, code, t0 + timeout, keep, check, poll=POLL_S, store_history=False)
        out = {'stdout': ''.join(stdout)[-2_000_000:], 'stderr': ''.join(stderr)[-20_000:]}
        if state != 'ok':
            return {'status': state, 'seconds': time.time() - t0, **out}
        status = reply.get('status')
        error = None
        if status == 'error':
            # tslab's error replies carry no ename/evalue: the message is on stderr.
            error = first_error_line(out['stderr']) or f"{reply.get('ename', 'Error')}: {reply.get('evalue', '')}".strip()
        elif status == 'abort':
            error = 'the kernel kept aborting this cell'
        elif looks_like_error(out['stderr']):
            status = 'error'
        if status != 'ok' and not error:
            error = first_error_line(out['stderr']) or 'the cell failed'
        return {'status': 'ok' if status == 'ok' else 'error', 'error': error, 'seconds': time.time() - t0, **out}


def first_error_line(stderr: str) -> str | None:
    import re
    m = TYPE_ERROR.search(stderr)
    if m:
        return f'TypeScript error at line {m.group(1)}: {m.group(3).strip()}'
    for line in stderr.splitlines():
        if re.match(r'^\s*\w*(Error|Exception)\b', line):
            return line.strip()
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[0] if lines else None


def serve() -> int:
    first = json.loads(sys.stdin.readline())
    token = first['token']
    config = first['config']
    box = Sandbox(config['kernel_name'], config['cwd'], config['env'], int(config.get('memory_mb', 0)))

    def reply(obj: dict) -> None:
        obj['token'] = token
        sys.stdout.write(json.dumps(obj) + '\n')
        sys.stdout.flush()

    for line in sys.stdin:
        try:
            req = json.loads(line)
            op = req.get('op')
            if op == 'start':
                reply({'ok': True, 'seconds': box.start()})
            elif op == 'restart':
                box.stop()
                reply({'ok': True, 'seconds': box.start()})
            elif op == 'exec':
                reply(box.execute(req['code'], float(req.get('timeout', 30))))
            elif op == 'stop':
                box.stop()
                reply({'ok': True})
                return 0
            else:
                reply({'ok': False, 'error': f'unknown op {op!r}'})
        except Exception as exc:  # keep serving: the Node side decides what a failure means
            reply({'ok': False, 'status': 'driver-error', 'error': f'{type(exc).__name__}: {exc}'})
    box.stop()
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'launch':
        launch(sys.argv[2:])
    else:
        sys.exit(serve())
