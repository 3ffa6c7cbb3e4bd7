"""Webhook acknowledgement latency: the App's POST /webhook against a bare Flask endpoint.

Both run under the server of `infrar app serve` (waitress, 8 threads) on loopback, in the same
run. The App does all of its real ack path per request: HMAC check, JSON parse, routing, and
the durable insert (SQLite, WAL, synchronous=FULL) of the delivery with its queue message in
one transaction (queue and state share one SQLite file), concurrent deliveries sharing a
commit. The baseline parses nothing and answers 202. A bounded burst (count and time) from a
fixed pool of client threads, split into rounds that alternate between the endpoints so that
load from elsewhere on the machine hits them alike; every delivery id is unique, so nothing is
short-cut as a duplicate.

    python bench/webhook_bench.py [--requests 2000] [--concurrency 16] [--rounds 5]
        [--separate-queue] [--compare-source DIR]

--separate-queue adds the App with its queue in a SQLite file of its own (two durable writes
per delivery); --compare-source adds the App imported from DIR (a layout of the `infrar`
package of another version, put first on PYTHONPATH), for before/after in one run.
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
    """The bare endpoint under the very server and settings `infrar app serve` uses."""
    from infrar.app.httpd import serve

    serve(baseline_app(), host="127.0.0.1", port=port, threads=8)


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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--separate-queue", action="store_true")
    parser.add_argument("--compare-source", type=Path)
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return
    body = payload()
    app = ["-c", "from infrar.cli.main import main; main()", "app", "serve",
           "--embedded-workers", "0", "--log-level", "warning", "--port"]
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="infrar-bench-") as data:
        env = {"INFRAR_WEBHOOK_SECRET": SECRET.decode()}
        commands = {
            "bare Flask": ([__file__, "--serve-baseline"], {}),
            "Infrar App": (app, {**env, "INFRAR_DATA_DIR": f"{data}/app"}),
        }
        if args.separate_queue:
            commands["queue apart"] = (app, {**env, "INFRAR_DATA_DIR": f"{data}/apart",
                                             "INFRAR_QUEUE_URL": f"sqlite:///{data}/apart/q.db"})
        if args.compare_source:
            commands["compared"] = (app, {**env, "INFRAR_DATA_DIR": f"{data}/compared",
                                          "PYTHONPATH": str(args.compare_source.resolve())})
        ports = {name: free_port() for name in commands}
        servers = [start([*argv, str(ports[name])], extra, ports[name])
                   for name, (argv, extra) in commands.items()]
        try:
            for port in ports.values():  # warm-up
                burst(f"http://127.0.0.1:{port}/webhook", body, count=100,
                      concurrency=args.concurrency)
            per_round = max(args.requests // args.rounds, 1)
            order = list(ports.items())
            for index in range(args.rounds):
                shift = index % len(order)
                for name, port in order[shift:] + order[:shift]:
                    results.setdefault(name, []).extend(burst(
                        f"http://127.0.0.1:{port}/webhook", body, count=per_round,
                        concurrency=args.concurrency))
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(15)
    print(f"payload {len(body)} bytes, {args.requests} requests per endpoint in {args.rounds} "
          f"alternating rounds, {args.concurrency} concurrent clients, loopback, "
          "waitress x8 (the server of infrar app serve)")
    if args.compare_source:
        print(f"compared: the App from {args.compare_source}")
    print(f"{'endpoint':<12} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name, values in results.items():
        rate = len(values) / sum(values) * args.concurrency
        print(f"{name:<12} {len(values):>6} {percentile(values, 50) * 1000:>8.2f} "
              f"{percentile(values, 99) * 1000:>8.2f} {rate:>8.0f}")
    bare = results["bare Flask"]
    for name, values in results.items():
        if name != "bare Flask":
            print(f"ratio {name}/bare: p50 {percentile(values, 50) / percentile(bare, 50):.2f}x,"
                  f" p99 {percentile(values, 99) / percentile(bare, 99):.2f}x")


if __name__ == "__main__":
    main()
