"""The durable pieces: claims, leases, the reaper, locks, queue URLs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from infrar.app.queue import QueueUrlError, build_queue
from infrar.app.state import deliveries, locks
from infrar.app.state.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    database.create_schema()
    return database


def record(db: Database, delivery: str, subject: str = "acme/x#1") -> bool:
    return deliveries.record(db, delivery_id=delivery, event="pull_request", action="opened",
                             subject=subject, payload=b'{"action": "opened"}')


def test_a_delivery_is_claimed_by_one_worker_at_a_time(db: Database) -> None:
    assert record(db, "d1") and not record(db, "d1")
    job = deliveries.claim(db, "d1", lease=60)
    assert job is not None and job.attempts == 1 and job.payload == {"action": "opened"}
    assert deliveries.claim(db, "d1", lease=60) is None
    deliveries.finish(db, "d1")
    assert deliveries.claim(db, "d1", lease=60) is None


def test_a_dead_workers_delivery_is_taken_over_after_the_lease(db: Database) -> None:
    record(db, "d1")
    assert deliveries.claim(db, "d1", lease=60) is not None
    assert deliveries.stuck(db, lease=60, requeue=60) == []
    time.sleep(0.3)
    assert deliveries.stuck(db, lease=0.1, requeue=60) == ["d1"]
    again = deliveries.claim(db, "d1", lease=0.1)
    assert again is not None and again.attempts == 2


def test_never_enqueued_deliveries_are_found_by_the_reaper(db: Database) -> None:
    record(db, "d1")
    assert deliveries.stuck(db, lease=60, requeue=60) == []
    time.sleep(0.2)
    assert deliveries.stuck(db, lease=60, requeue=0.1) == ["d1"]


def test_one_job_per_subject(db: Database) -> None:
    assert deliveries.acquire_subject(db, "acme/x#1", "d1", lease=60)
    assert not deliveries.acquire_subject(db, "acme/x#1", "d2", lease=60)
    assert deliveries.acquire_subject(db, "acme/x#2", "d2", lease=60)
    deliveries.release_subject(db, "acme/x#1", "d1")
    assert deliveries.acquire_subject(db, "acme/x#1", "d2", lease=60)


def test_locks_name_their_holder(db: Database) -> None:
    assert locks.acquire(db, repo="a/b", environment="prod", pr=1, holder="alice",
                         url="u1") is None
    assert locks.acquire(db, repo="a/b", environment="prod", pr=1, holder="alice",
                         url="u1") is None
    holder = locks.acquire(db, repo="a/b", environment="prod", pr=2, holder="bob", url="u2")
    assert holder is not None and (holder.pr, holder.url) == (1, "u1")
    assert locks.release(db, repo="a/b", pr=1) == 1
    assert locks.acquire(db, repo="a/b", environment="prod", pr=2, holder="bob", url="u2") is None


def test_queue_urls(tmp_path: Path) -> None:
    sqlite = build_queue(f"sqlite:///{tmp_path / 'q' / 'queue.db'}")
    assert type(sqlite).__name__ == "SqliteHuey" and (tmp_path / "q").is_dir()
    assert type(build_queue("redis://127.0.0.1:6379/0?queue=x")).__name__ == "RedisHuey"
    with pytest.raises(QueueUrlError):
        build_queue("amqp://localhost")
