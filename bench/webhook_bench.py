"""Webhook acknowledgement latency: the App's POST /webhook against a bare Flask endpoint.

Both run under gunicorn (one process, gthread) on loopback, measured in the same run. The App
does all of its real ack path per request: HMAC check, JSON parse, routing, a durable insert
(SQLite, synchronous=FULL) for de-duplication, and an enqueue (huey on SQLite). The baseline
parses nothing and answers 202. A bounded burst (count and time) from a fixed pool of client
threads; every delivery id is unique, so nothing is short-cut as a duplicate.

    python bench/webhook_bench.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from infrar.app.signature import sign

SECRET = b"bench-secret"
EXAMPLES = (Path(__file__).resolve().parents[1] / "tests" / "node_modules" / "@octokit"
            / "webhooks-examples" / "api.github.com" / "index.json")
TIME_LIMIT_S = 120.0


def payload() -> bytes:
    """A real pull_request.opened payload (as an App receives it) when the examples exist."""
    body: dict[str, object]
    if EXAMPLES.is_file():
        index = {e["name"]: e["examples"] for e in json.loads(EXAMPLES.read_text())}
        body = next(e for e in index["pull_request"] if e.get("action") == "opened")
    else:
        body = {"action": "opened", "number": 1, "pull_request": {"number": 1, "body": "x" * 20000},
                "repository": {"full_name": "acme/photos"}}
    body["installation"] = {"id": 1}
    return json.dumps(body).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def baseline_app():  # type: ignore[no-untyped-def]
    from flask import Flask

    app = Flask("baseline")

    @app.post("/webhook")
    def webhook():  # type: ignore[no-untyped-def]
        return {"status": "queued"}, 202

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return {"status": "ok"}

    return app


def serve_baseline(port: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": 1,
                               "worker_class": "gthread", "threads": 8}.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return baseline_app()

    _App().run()


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, *args], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on port {port} did not start")


def burst(url: str, body: bytes, *, count: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = iter(range(count))
    deadline = time.monotonic() + TIME_LIMIT_S
    signature = sign(SECRET, body)

    def client() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            with lock:
                if next(remaining, None) is None:
                    return
            headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": secrets.token_hex(16),
                       "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            if response.status_code != 202:
                raise SystemExit(f"unexpected {response.status_code}: {response.text[:200]}")
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return
    body = payload()
    results = {}
    with tempfile.TemporaryDirectory(prefix="infrar-bench-") as data:
        app_port, base_port = free_port(), free_port()
        env = {"INFRAR_WEBHOOK_SECRET": SECRET.decode(), "INFRAR_DATA_DIR": data}
        servers = [
            ("bare Flask", start([__file__, "--serve-baseline", str(base_port)], {}, base_port),
             base_port),
            ("Infrar App", start(["-c", "from infrar.cli.main import main; main()", "app", "serve",
                                  "--port", str(app_port), "--embedded-workers", "0",
                                  "--log-level", "warning"], env, app_port), app_port),
        ]
        try:
            for name, _, port in servers:
                url = f"http://127.0.0.1:{port}/webhook"
                burst(url, body, count=100, concurrency=args.concurrency)  # warm-up
                results[name] = burst(url, body, count=args.requests,
                                      concurrency=args.concurrency)
        finally:
            for _, proc, _ in servers:
                proc.terminate()
                proc.wait(15)
    print(f"payload {len(body)} bytes, {args.requests} requests, {args.concurrency} concurrent "
          "clients, loopback, gunicorn gthread x8")
    print(f"{'endpoint':<12} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name, values in results.items():
        rate = len(values) / sum(values) * args.concurrency
        print(f"{name:<12} {len(values):>6} {percentile(values, 50) * 1000:>8.2f} "
              f"{percentile(values, 99) * 1000:>8.2f} {rate:>8.0f}")
    app, bare = results["Infrar App"], results["bare Flask"]
    print(f"ratio App/bare: p50 {percentile(app, 50) / percentile(bare, 50):.2f}x, "
          f"p99 {percentile(app, 99) / percentile(bare, 99):.2f}x")


if __name__ == "__main__":
    main()
