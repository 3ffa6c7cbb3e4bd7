"""`infrar app serve` exposed directly: slow clients (slowloris) hold no request thread and are
dropped within the documented bounds, and bodies past GitHub's 25 MB are refused unread.

Timings are asserted only as generous hang detectors: a server that works answers in well
under a second on loopback; these fail only when it does not answer at all."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from app_support import SECRET

from infrar.app.signature import sign

THREADS = 8
SLOW_CLIENTS = 12  # more than the request threads
HANG_S = 20.0  # an answer later than this is a hang
READ_TIMEOUT_S = 10.0  # documented in docs/github-app.md, "Exposure and bounds"
TRICKLE_EVERY_S = 2.0
MAX_BODY = 25 * 1024 * 1024

BODY = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
HEADERS = (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"X-GitHub-Event: ping\r\nX-GitHub-Delivery: slow\r\n"
           b"Content-Length: 100000\r\n\r\n")


@pytest.fixture
def server(start_app, tmp_path: Path) -> str:
    env = {"INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_DATA_DIR": str(tmp_path / "data")}
    url: str = start_app("serve", env, "--threads", str(THREADS), "--embedded-workers", "0",
                         "--log-level", "warning")
    return url


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


class Trickle:
    """Slow clients: half send their headers a byte at a time, half send complete headers and
    then the body a byte at a time. Each is watched until the server closes it; the loop stops
    by itself once all are closed or after `limit` seconds."""

    def __init__(self, address: tuple[str, int], count: int, limit: float) -> None:
        self.opened: dict[socket.socket, float] = {}
        self.closed: dict[socket.socket, float] = {}
        self._pending: dict[socket.socket, bytes] = {}
        for index in range(count):
            sock = socket.create_connection(address, timeout=5)
            if index % 2:
                sock.sendall(HEADERS)
                self._pending[sock] = b"{" + b" " * 99_999
            else:
                sock.sendall(HEADERS[:1])
                self._pending[sock] = HEADERS[1:]
            self.opened[sock] = time.monotonic()
        self._limit = time.monotonic() + limit
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while len(self.closed) < len(self.opened) and time.monotonic() < self._limit:
            for sock in self.opened:
                if sock not in self.closed:
                    self._step(sock)
            time.sleep(TRICKLE_EVERY_S)

    def _step(self, sock: socket.socket) -> None:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable and not sock.recv(65536):
                raise ConnectionResetError("closed by the server")
            data = self._pending[sock]
            sock.sendall(data[:1])
            self._pending[sock] = data[1:]
        except OSError:
            self.closed[sock] = time.monotonic()

    def wait(self) -> None:
        self._thread.join(max(self._limit - time.monotonic(), 0) + TRICKLE_EVERY_S + 5)

    def close(self) -> None:
        self._limit = 0
        self._thread.join(TRICKLE_EVERY_S + 5)
        for sock in self.opened:
            sock.close()


def test_slow_clients_neither_starve_requests_nor_stay_connected(server: str) -> None:
    slow = Trickle(_address(server), SLOW_CLIENTS, limit=READ_TIMEOUT_S + 3 * HANG_S)
    try:
        time.sleep(2 * TRICKLE_EVERY_S)  # each has sent some bytes: a thread-per-read server
        # would now be holding every request thread
        assert requests.get(f"{server}/healthz", timeout=HANG_S).json() == {"status": "ok"}
        answer = requests.post(f"{server}/webhook", data=BODY, timeout=HANG_S, headers={
            "X-GitHub-Event": "ping", "X-GitHub-Delivery": "fast",
            "X-Hub-Signature-256": sign(SECRET.encode(), BODY),
            "Content-Type": "application/json"})
        assert answer.status_code == 200 and answer.json()["status"] == "ignored"
        slow.wait()
        assert len(slow.closed) == SLOW_CLIENTS, "the server left slow clients connected"
        for sock, at in slow.closed.items():
            assert at - slow.opened[sock] < READ_TIMEOUT_S + HANG_S
        assert requests.get(f"{server}/healthz", timeout=HANG_S).ok
    finally:
        slow.close()


def _raw(address: tuple[str, int], head: bytes, body_chunks: int = 0, chunk: bytes = b""
         ) -> bytes:
    """Send `head`, then as many chunks as the server takes, and read its answer."""
    with socket.create_connection(address, timeout=HANG_S) as sock:
        sock.sendall(head)
        try:
            for _ in range(body_chunks):
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed before the body was all sent
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
        return answer


def test_a_body_past_25_mb_is_refused_before_it_is_read(server: str) -> None:
    address = _address(server)
    declared = _raw(address, b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    + str(MAX_BODY + 1).encode() + b"\r\n\r\n")
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    piece = b"x" * 1024 * 1024
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    chunked = _raw(address, b"POST /webhook HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n", body_chunks=27, chunk=chunk)
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:200]
    assert requests.get(f"{server}/healthz", timeout=HANG_S).ok
