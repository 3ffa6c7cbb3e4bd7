"""checkov kept imported between checks: one fork server (checkov_forkserver.py, run by
checkov's own Python) per checkov executable and process, started on first use or ahead of it
(`warm`), restarted when it has died. Each check runs in a fresh child forked from the server,
so a check costs a fork instead of checkov's start-up (seconds of imports), and nothing one
check loads reaches another.

`run` answers None when there is no server to use (no Python beside the executable, or the
server cannot start): the caller then runs checkov as a process of its own, as before.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).with_name("checkov_forkserver.py")
START_TIMEOUT_S = 180.0
RETRY_AFTER_S = 60.0
"""After a server failed to start, checks run as processes for this long before a new try."""
MAX_ANSWER_BYTES = 4096
FORK_GRACE_S = 10.0
"""How long a check's child may take to say it started, whatever the check's own time."""


class CheckTimeout(Exception):
    """The check did not end in time; its process group was ended."""


@dataclass(frozen=True)
class Request:
    argv: list[str]
    cwd: Path
    env: Mapping[str, str]
    stdout: Path
    stderr: Path
    timeout: float


class Server:
    """One fork server for one checkov executable."""

    def __init__(self, executable: Path, env: Mapping[str, str]) -> None:
        self.executable = executable
        self.env = dict(env)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._failed_at: float | None = None

    def python(self) -> Path | None:
        """checkov's interpreter: the Python of the environment its executable is in."""
        for name in ("python3", "python"):
            candidate = self.executable.parent / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        return None

    def socket_path(self) -> Path | None:
        """The socket of a running server, started (or restarted) here when needed."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                assert self._folder is not None
                return self._folder / "socket"
            self._stop()
            if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER_S:
                return None
            if self._start():
                self._failed_at = None
                assert self._folder is not None
                return self._folder / "socket"
            self._failed_at = time.monotonic()
            return None

    def run(self, request: Request) -> int | None:
        """checkov's exit code, or None when no server could take the check."""
        path = self.socket_path()
        if path is None:
            return None
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(str(path))
        except OSError:
            self.stop()  # it died between the check and the connection; the next one restarts
            return None
        with connection:
            return _exchange(connection, request)

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> bool:
        python = self.python()
        if python is None:
            return False
        self._folder = Path(tempfile.mkdtemp(prefix="infrar-checkov-"))  # mode 0700
        env = {**self.env, "HOME": str(self._folder), "TMPDIR": str(self._folder)}
        started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                [str(python), str(SCRIPT), str(self._folder / "socket")], cwd=self._folder,
                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            log.warning("checkov server did not start (%s); checks run checkov each time", exc)
            return False
        if _ready(self._process, START_TIMEOUT_S):
            log.info("checkov server ready in %.1fs", time.monotonic() - started)
            return True
        log.warning("checkov server did not start; checks run checkov each time")
        self._stop()
        return False

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # the server ends when its input does
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _ready(process: subprocess.Popen[bytes], timeout: float) -> bool:
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], timeout)
    return bool(readable) and process.stdout.readline() == b"ready\n"


def _exchange(connection: socket.socket, request: Request) -> int | None:
    now = time.monotonic()
    deadline = now + request.timeout
    connection.sendall(json.dumps({
        "argv": request.argv, "cwd": str(request.cwd), "env": dict(request.env),
        "stdout": str(request.stdout), "stderr": str(request.stderr)}).encode())
    connection.shutdown(socket.SHUT_WR)
    lines = _Lines(connection)
    started = lines.next(max(deadline, now + FORK_GRACE_S))  # the child's first words
    pid = started.get("pid") if started else None
    if not isinstance(pid, int):
        return None
    answer = lines.next(deadline)
    if lines.timed_out or (answer is None and time.monotonic() >= deadline):
        _end_group(pid)
        raise CheckTimeout()
    code = answer.get("code") if answer else None
    return code if isinstance(code, int) else None


class _Lines:
    """JSON lines read from a socket, none past a deadline."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = b""
        self.timed_out = False

    def next(self, deadline: float) -> dict[str, object] | None:
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.timed_out = True
                return None
            self.connection.settimeout(left)
            try:
                chunk = self.connection.recv(MAX_ANSWER_BYTES)
            except TimeoutError:
                self.timed_out = True
                return None
            if not chunk or len(self.buffer) + len(chunk) > MAX_ANSWER_BYTES:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            value = json.loads(line)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


def _end_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


_servers: dict[Path, Server] = {}
_servers_lock = threading.Lock()


def server_for(executable: Path, env: Mapping[str, str]) -> Server:
    """This process's server for `executable` (made, not started, on first use)."""
    key = Path(executable).resolve()
    with _servers_lock:
        found = _servers.get(key)
        if found is None:
            found = _servers[key] = Server(key, env)
        return found


def warm(executable: Path, env: Mapping[str, str]) -> threading.Thread:
    """Start the server in the background, so the first check does not wait for it."""
    thread = threading.Thread(target=server_for(executable, env).socket_path,
                              name="checkov-server", daemon=True)
    thread.start()
    return thread


def stop_all() -> None:
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()
