"""A checkov fork server: run by checkov's own Python (its environment, where Infrar is not
installed), so it uses the standard library and checkov only.

It imports checkov once, then listens on a Unix socket (in a folder only its user can enter).
Each connection is one check: the server forks a child, which reads the request (checkov's
command line, working folder, environment, where its output goes), runs checkov's own entry
point with that command line, as the `checkov` executable does, and answers with its exit
code. Every check runs in a fresh child of the imported server, so whatever one check loads
(a repository's custom policies) never reaches another. The server ends when its standard
input closes: the process that started it has ended or let it go.

Protocol, one JSON document each way: the client sends the request and shuts its side down;
the child answers `{"pid": N}` on a line as soon as it starts (so the client can end it and
its process group on a timeout), then `{"code": N}` on a line when checkov is done.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import tempfile
import traceback
import warnings
from typing import Any

MAX_REQUEST_BYTES = 1024 * 1024
FAILED = 70
"""The exit code of a check that crashed before checkov could give one."""


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: checkov_forkserver.py SOCKET\n")
        return 2
    # This script's folder holds Infrar's own modules, which would shadow checkov's imports.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    warnings.simplefilter("ignore", category=SyntaxWarning)  # as the checkov executable does
    import checkov.main  # noqa: F401 - the import is what every check then shares

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(argv[1])
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable:
            return 0  # the only thing ever sent is the end of input
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _check(connection)
        connection.close()


def _check(connection: socket.socket) -> None:
    """In the forked child: one check, then exit (never returns)."""
    code = FAILED
    try:
        os.setsid()  # its own process group, which the client may end as a whole
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        connection.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        request = json.loads(_read(connection))
        _prepare(request)
        code = _run(request["argv"])
    except BaseException:  # noqa: BLE001 - reported as a failed check, with its traceback
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        try:
            connection.sendall(json.dumps({"code": code}).encode() + b"\n")
        except OSError:
            pass
        os._exit(0)


def _read(connection: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
        chunks.append(chunk)


def _prepare(request: dict[str, Any]) -> None:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # found again from TMPDIR
    _redirect(0, os.devnull, os.O_RDONLY)
    _redirect(1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    _redirect(2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)


def _redirect(fd: int, path: str, flags: int) -> None:
    opened = os.open(path, flags, 0o600)
    os.dup2(opened, fd)
    os.close(opened)


def _run(argv: list[str]) -> int:
    from checkov.main import Checkov

    sys.argv = list(argv)
    try:
        # Its default argv is the server's, taken when checkov.main was imported.
        result = Checkov(argv=list(argv[1:])).run()
    except SystemExit as exc:
        result = exc.code
    if result is None:
        return 0
    if isinstance(result, int):
        return result
    sys.stderr.write(f"{result}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
