"""The acknowledgement's one durable write: on SQLite the delivery and its queue message are
one transaction in one file, and concurrent deliveries share that transaction's commit."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import payloads
import pytest
from app_support import SECRET
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from infrar.app.queue import build_queue, enqueuer_in_transaction, register
from infrar.app.runtime import Runtime
from infrar.app.server import create_app
from infrar.app.settings import Settings
from infrar.app.signature import sign
from infrar.app.state import deliveries
from infrar.app.state.db import Database
from infrar.app.state.models import JobLease


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime.from_settings(Settings.from_env({
        "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_DATA_DIR": str(tmp_path / "data")}))


def post(runtime: Runtime, delivery: str) -> Any:
    body = json.dumps(payloads.example("installation", "created")).encode()
    return create_app(runtime).test_client().post("/webhook", data=body, headers={
        "X-GitHub-Event": "installation", "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(SECRET.encode(), body)}, content_type="application/json")


def test_delivery_and_queue_message_share_one_sqlite_file(runtime: Runtime,
                                                          tmp_path: Path) -> None:
    assert runtime.settings.resolved_queue_url == runtime.settings.resolved_database_url
    assert runtime.enqueue_in is not None
    assert post(runtime, "d-1").status_code == 202
    with sqlite3.connect(tmp_path / "data" / "infrar.db") as connection:
        assert connection.execute("SELECT count(*) FROM deliveries").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM task").fetchone() == (1,)
    assert sorted(p.name for p in (tmp_path / "data").glob("*.db")) == ["infrar.db"]
    assert runtime.queue.pending_count() == 1


def test_a_delivery_that_cannot_be_queued_is_not_stored_either(runtime: Runtime) -> None:
    def broken(_session: Session, _delivery_id: str) -> None:
        raise RuntimeError("disk full")

    queue_in = runtime.enqueue_in
    runtime.enqueue_in = broken
    assert post(runtime, "d-1").status_code == 500  # GitHub marks it failed; it can redeliver
    assert deliveries.status(runtime.db, "d-1") is None
    runtime.enqueue_in = queue_in
    assert post(runtime, "d-1").status_code == 202
    assert runtime.queue.pending_count() == 1


def test_other_stores_keep_two_steps(tmp_path: Path) -> None:
    on_postgres = Settings(webhook_secret=b"x", data_dir=tmp_path,
                           database_url="postgresql://db/infrar")
    assert on_postgres.resolved_queue_url == f"sqlite:///{tmp_path.resolve()}/queue.db"
    state = str(tmp_path / "infrar.db")
    for url in ("redis://127.0.0.1:6379/0", f"sqlite:///{tmp_path / 'queue.db'}"):
        huey = build_queue(url)
        assert enqueuer_in_transaction(huey, register(huey, lambda _id: None), state) is None
    huey = build_queue(f"sqlite:///{state}")
    assert enqueuer_in_transaction(huey, register(huey, lambda _id: None), state) is not None


def run_behind_a_held_commit(db: Database, works: dict[str, Any]) -> dict[str, Any]:
    """Start a write that holds its transaction open, queue `works` behind it, let go."""
    inside, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def hold(session: Session) -> str:
        lease(session, "held")
        inside.set()
        release.wait(10)
        return "held"

    def call(name: str, work: Any) -> None:
        try:
            results[name] = db.grouped(work)
        except Exception as exc:  # noqa: BLE001 - checked by the caller
            results[name] = exc

    first = threading.Thread(target=call, args=("held", hold))
    first.start()
    assert inside.wait(10)
    threads = [threading.Thread(target=call, args=item) for item in works.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(db._group._waiting) < len(works) and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.01)
    release.set()
    for thread in [first, *threads]:
        thread.join(10)
    return results


def lease(session: Session, name: str) -> str:
    session.add(JobLease(subject=name, delivery_id=name, heartbeat_at=0.0))
    return name


def subjects(db: Database) -> list[str]:
    with db.session() as s:
        return sorted(s.execute(select(JobLease.subject)).scalars())


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    database.create_schema()
    return database


def test_concurrent_writes_share_a_commit(db: Database) -> None:
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    names = [f"w{i}" for i in range(6)]
    results = run_behind_a_held_commit(db, {n: partial(lease, name=n) for n in names})
    assert len(commits) == 2  # the held one; then the six that waited, together
    assert [results[n] for n in ["held", *names]] == ["held", *names]
    assert subjects(db) == sorted(["held", *names])


def test_a_failing_write_fails_alone(db: Database) -> None:
    def failing(session: Session) -> str:
        lease(session, "bad")
        raise ValueError("only this one fails")

    results = run_behind_a_held_commit(db, {"w1": partial(lease, name="w1"), "bad": failing,
                                            "w2": partial(lease, name="w2")})
    assert isinstance(results["bad"], ValueError)
    assert (results["w1"], results["w2"]) == ("w1", "w2")
    assert subjects(db) == ["held", "w1", "w2"]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_concurrent_duplicates_are_stored_once(store: str, db: Database,
                                               request: pytest.FixtureRequest) -> None:
    if store == "postgresql":
        db = Database(request.getfixturevalue("postgres_url"))
        db.create_schema()
        request.addfinalizer(db.dispose)
    fresh: list[bool] = []

    def record(delivery: str) -> None:
        fresh.append(deliveries.record(db, delivery_id=delivery, event="pull_request",
                                       action="opened", subject="acme/x#1", payload=b"{}"))

    threads = [threading.Thread(target=record, args=(f"d-{i % 4}",)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert fresh.count(True) == 4 and fresh.count(False) == 20
