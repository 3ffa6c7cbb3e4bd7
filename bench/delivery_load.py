"""Delivery load: a bounded burst of valid signed deliveries against the real App, exactly once.

Two set-ups, each started fresh on loopback:

- `sqlite`: `infrar app serve` with its embedded workers, state and queue in one SQLite file;
- `redis-postgres`: `infrar app serve --embedded-workers 0` and a separate `infrar app worker`
  process, the queue on Redis, the state in PostgreSQL (a database made for the run, dropped
  after, unless --database-url names one).

Each delivery is an `installation.created` event for an installation of its own, which the App
routes, runs and records (the installations table) without calling GitHub. After the burst a
share of the deliveries is sent again with the same X-GitHub-Delivery; they must be answered
`200 duplicate`. Then the run waits (bounded) for the workers and checks, in the database:
every delivery `done`, claimed exactly once (`attempts == 1`: a handler ran once), one
installation row per delivery, none missing, no extra ones.

    python bench/delivery_load.py [--deliveries 600] [--clients 16] [--duplicates 0.1]
        [--setups sqlite,redis-postgres] [--redis redis://127.0.0.1:6379/0]
        [--postgres-admin postgresql://postgres@127.0.0.1:5432/postgres]
        [--database-url postgresql://...]

Prints acknowledgement p50/p99 and throughput (acknowledgements per second, and deliveries
processed per second until the last is done) per set-up; exits 1 if any delivery was refused,
lost or processed twice, 2 if a set-up could not start.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from infrar.app.signature import sign

SECRET = b"delivery-load-secret"
BURST_LIMIT_S = 60.0  # the burst stops sending once this has passed
DRAIN_LIMIT_S = 120.0  # and the workers get this long to finish
FIRST_INSTALLATION = 5_000_000


@dataclass
class Result:
    setup: str
    sent: int = 0
    acked: int = 0
    duplicates_sent: int = 0
    duplicates_acked: int = 0
    latencies: list[float] = field(default_factory=list)
    burst_s: float = 0.0
    drained_s: float | None = None
    problems: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def body_of(index: int) -> bytes:
    inst = FIRST_INSTALLATION + index
    return json.dumps({
        "action": "created",
        "installation": {"id": inst, "account": {"login": f"load-{index}", "type": "User"}},
        "repositories": [{"full_name": f"load-{index}/repo"}],
        "sender": {"login": f"load-{index}", "type": "User"},
    }).encode()


class Processes:
    """`infrar app …` children, each in a session of its own, stopped on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.started = folder, []  # type: ignore[var-annotated]

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-c", "from infrar.cli.main import main; main()", "app", *args],
            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.started.append((proc, log))
        return proc

    def stop(self) -> None:
        for proc, log in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            log.close()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:]
                         for p in sorted(self.folder.glob("*.log")))


def wait_healthy(url: str, proc: subprocess.Popen[bytes], processes: Processes) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited:\n{processes.logs()}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer:\n{processes.logs()}")


def burst(url: str, result: Result, *, deliveries: int, clients: int, duplicates: float,
          prefix: str) -> None:
    local = threading.local()
    lock = threading.Lock()
    started = time.monotonic()

    def send(index: int, *, again: bool) -> None:
        if time.monotonic() - started > BURST_LIMIT_S:
            return
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        body = body_of(index)
        headers = {"X-GitHub-Event": "installation", "X-GitHub-Delivery": f"{prefix}-{index}",
                   "X-Hub-Signature-256": sign(SECRET, body),
                   "Content-Type": "application/json"}
        begin = time.perf_counter()
        try:
            answer = session.post(f"{url}/webhook", data=body, headers=headers, timeout=30)
            status, text = answer.status_code, answer.text
        except requests.RequestException as exc:
            status, text = 0, str(exc)
        elapsed = time.perf_counter() - begin
        with lock:
            if again:
                result.duplicates_sent += 1
                if status == 200 and json.loads(text).get("status") == "duplicate":
                    result.duplicates_acked += 1
                else:
                    result.problems.append(f"re-sent {prefix}-{index}: {status} {text[:200]}")
                return
            result.sent += 1
            result.latencies.append(elapsed)
            if status == 202:
                result.acked += 1
            else:
                result.problems.append(f"{prefix}-{index}: {status} {text[:200]}")

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda i: send(i, again=False), range(deliveries)))
    result.burst_s = time.monotonic() - started
    again = list(range(0, deliveries, max(1, round(1 / duplicates)))) if duplicates > 0 else []
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda i: send(i, again=True), again))


def check(db_url: str, result: Result, *, deliveries: int, prefix: str, started: float) -> None:
    """Wait (bounded) for every delivery to finish, then hold the database to exactly-once."""
    from sqlalchemy import func, select

    from infrar.app.state.db import Database
    from infrar.app.state.models import Delivery, Installation

    db = Database(db_url)
    try:
        wanted = [f"{prefix}-{i}" for i in range(deliveries)]
        deadline = time.monotonic() + DRAIN_LIMIT_S
        while True:
            with db.session() as s:
                finished = s.execute(select(func.count()).select_from(Delivery).where(
                    Delivery.id.like(f"{prefix}-%"),
                    Delivery.status.in_(("done", "failed")))).scalar_one()
            if finished >= result.acked or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        result.drained_s = time.monotonic() - started
        with db.session() as s:
            rows = {r.id: (r.status, r.attempts) for r in s.execute(
                select(Delivery).where(Delivery.id.like(f"{prefix}-%"))).scalars()}
            installed = set(s.execute(select(Installation.id).where(
                Installation.id >= FIRST_INSTALLATION,
                Installation.id < FIRST_INSTALLATION + deliveries)).scalars())
        lost = [d for d in wanted if rows.get(d, ("missing", 0))[0] != "done"]
        twice = [d for d in wanted if rows.get(d, ("", 0))[1] > 1]
        missing = [i for i in range(deliveries) if FIRST_INSTALLATION + i not in installed]
        extra = sorted(set(rows) - set(wanted))
        if lost:
            result.problems.append(f"{len(lost)} deliveries not done (lost): {lost[:5]}")
        if twice:
            result.problems.append(f"{len(twice)} deliveries claimed more than once: {twice[:5]}")
        if missing:
            result.problems.append(f"{len(missing)} installations never recorded: {missing[:5]}")
        if extra:
            result.problems.append(f"unexpected deliveries stored: {extra[:5]}")
    finally:
        db.dispose()


@contextmanager
def postgres_database(admin: str, given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from sqlalchemy import create_engine, text

    from infrar.app.state.db import normalise_url

    name = f"infrar_load_{secrets.token_hex(6)}"
    engine = create_engine(normalise_url(admin), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def run_setup(setup: str, args: argparse.Namespace) -> Result:
    folder = Path(tempfile.mkdtemp(prefix=f"infrar-load-{setup}-"))
    processes = Processes(folder)
    result = Result(setup)
    prefix = f"load-{secrets.token_hex(4)}"
    env = {"INFRAR_WEBHOOK_SECRET": SECRET.decode(), "INFRAR_DATA_DIR": str(folder / "data"),
           "INFRAR_LEASE_SECONDS": "30", "INFRAR_REQUEUE_SECONDS": "20",
           # Workers refuse to start without an App; the deliveries never reach GitHub.
           "INFRAR_GITHUB_APP_ID": "1", "INFRAR_GITHUB_PRIVATE_KEY": _private_key()}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port), "--log-level", "warning"]
    queue_name = f"infrar-load-{secrets.token_hex(4)}"
    try:
        if setup == "sqlite":
            proc = processes.start("serve", [*serve, "--embedded-workers",
                                             str(args.workers)], env)
            wait_healthy(url, proc, processes)
            db_url = f"sqlite:///{(folder / 'data' / 'infrar.db').resolve()}"
            started = time.monotonic()
            burst(url, result, deliveries=args.deliveries, clients=args.clients,
                  duplicates=args.duplicates, prefix=prefix)
            check(db_url, result, deliveries=args.deliveries, prefix=prefix, started=started)
        else:
            with postgres_database(args.postgres_admin, args.database_url) as db_url:
                env = {**env, "INFRAR_DATABASE_URL": db_url,
                       "INFRAR_QUEUE_URL": f"{args.redis}?queue={queue_name}"}
                proc = processes.start("serve", [*serve, "--embedded-workers", "0"], env)
                wait_healthy(url, proc, processes)
                processes.start("worker", ["worker", "--workers", str(args.workers),
                                           "--log-level", "warning"], env)
                started = time.monotonic()
                burst(url, result, deliveries=args.deliveries, clients=args.clients,
                      duplicates=args.duplicates, prefix=prefix)
                check(db_url, result, deliveries=args.deliveries, prefix=prefix,
                      started=started)
                processes.stop()
        if result.problems:
            result.problems.append(f"logs:\n{processes.logs()}")
        return result
    finally:
        processes.stop()
        if setup != "sqlite":
            _drop_queue(args.redis, queue_name)
        shutil.rmtree(folder, ignore_errors=True)


def _drop_queue(url: str, name: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"*{name}*"):
            client.delete(key)
        client.close()
    except Exception:  # noqa: BLE001 - cleaning up only
        pass


def report(result: Result, deliveries: int) -> str:
    lat = sorted(result.latencies)
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    ack_rate = result.sent / result.burst_s if result.burst_s else 0.0
    done = (f"{deliveries / result.drained_s:.0f}/s processed (last done after "
            f"{result.drained_s:.1f} s)" if result.drained_s else "not drained")
    verdict = "exactly once" if not result.problems else "FAILED"
    return (f"{result.setup:15} {result.acked}/{deliveries} acked, "
            f"{result.duplicates_acked}/{result.duplicates_sent} duplicates refused; "
            f"ack p50 {p50:.1f} ms p99 {p99:.1f} ms, {ack_rate:.0f} acks/s; {done}; {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--deliveries", type=int, default=600)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="worker threads per set-up")
    parser.add_argument("--duplicates", type=float, default=0.1,
                        help="share of deliveries sent again with the same delivery id")
    parser.add_argument("--setups", default="sqlite,redis-postgres")
    parser.add_argument("--redis", default=os.environ.get(
        "INFRAR_LOAD_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--postgres-admin", default=os.environ.get(
        "INFRAR_LOAD_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a database to connect to while creating and dropping the run's database")
    parser.add_argument("--database-url", default=None,
                        help="use this PostgreSQL database instead of making one")
    args = parser.parse_args(argv)
    if not 1 <= args.deliveries <= 10_000 or not 1 <= args.clients <= 64:
        parser.error("--deliveries must be 1..10000 and --clients 1..64")
    failed = False
    for setup in [s.strip() for s in args.setups.split(",") if s.strip()]:
        if setup not in ("sqlite", "redis-postgres"):
            parser.error(f"unknown set-up {setup!r}")
        try:
            result = run_setup(setup, args)
        except Exception as exc:  # noqa: BLE001 - reported, exit 2
            print(f"{setup}: could not run: {exc}", file=sys.stderr)
            return 2
        print(report(result, args.deliveries), flush=True)
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
        failed = failed or bool(result.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
