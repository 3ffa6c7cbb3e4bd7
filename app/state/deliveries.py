"""The delivery lifecycle: received -> queued -> running -> done | failed | ignored.

The row is written before GitHub gets its 202, so a crash anywhere after that loses nothing:
the reaper hands stuck rows back to the queue, and the claim makes sure only one worker at a
time ever runs a delivery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from infrar.app.state.db import Database, affected, now
from infrar.app.state.models import Delivery, JobLease

QUEUED, RUNNING, DONE, FAILED, IGNORED = "queued", "running", "done", "failed", "ignored"
MAX_ATTEMPTS = 5
# Built once, on the table rather than the ORM class: on the acknowledgement path, building
# and ORM-processing the statement per request cost more than the insert itself. The row count
# (1 stored, 0 a duplicate) is kept only when asked for, on INSERT.
_TABLE = Delivery.metadata.tables[Delivery.__tablename__]
_INSERT_SQLITE = sqlite_insert(_TABLE).on_conflict_do_nothing(
    index_elements=["id"]).execution_options(preserve_rowcount=True)
_INSERT_POSTGRESQL = postgresql_insert(_TABLE).on_conflict_do_nothing(
    index_elements=["id"]).execution_options(preserve_rowcount=True)


@dataclass(frozen=True)
class Job:
    id: str
    event: str
    action: str | None
    subject: str | None
    payload: dict[str, Any]
    attempts: int


def record(db: Database, *, delivery_id: str, event: str, action: str | None,
           subject: str | None, payload: bytes | None, error: str | None = None,
           enqueue_in: Callable[[Session, str], None] | None = None) -> bool:
    """Store a delivery, durably; False when this delivery id was seen before. With
    `enqueue_in`, a delivery to run is queued in the same transaction: both are stored, or
    neither. On SQLite, concurrent calls share one commit (see `Database.grouped`). With
    `error`, the delivery is stored as failed for that reason and never queued."""
    moment = now()
    to_run = payload is not None and error is None
    values = dict(
        id=delivery_id, event=event, action=action, subject=subject,
        payload=payload.decode() if payload is not None else None,
        status=QUEUED if to_run else FAILED if error else IGNORED, attempts=0,
        received_at=moment, error=error,
        # Counted as enqueued from the start: if the enqueue that follows fails, the reaper
        # sends it once `requeue` seconds have passed, as for any lost queue message.
        enqueued_at=moment, finished_at=None if to_run else moment)
    statement = _INSERT_SQLITE if db.is_sqlite else _INSERT_POSTGRESQL

    def store(s: Session) -> bool:
        if affected(s.execute(statement, values)) != 1:
            return False  # a duplicate: nothing stored, nothing queued
        if enqueue_in is not None and to_run:
            enqueue_in(s, delivery_id)
        return True

    return db.grouped(store)


def mark_enqueued(db: Database, delivery_id: str) -> None:
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id).values(enqueued_at=now()))


def claim(db: Database, delivery_id: str, *, lease: float) -> Job | None:
    """Take a delivery to run, or None when it is finished or another live worker holds it."""
    moment = now()
    with db.session() as s:
        claimed = affected(s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .where(or_(Delivery.status == QUEUED,
                       (Delivery.status == RUNNING) & (Delivery.heartbeat_at < moment - lease)))
            .values(status=RUNNING, attempts=Delivery.attempts + 1, heartbeat_at=moment)
        ))
        if claimed != 1:
            return None
        row = s.get(Delivery, delivery_id)
        assert row is not None and row.payload is not None
        try:
            payload = json.loads(row.payload)
        except (ValueError, RecursionError) as exc:
            # Stored by an older version that checked less: it can never run.
            row.status, row.finished_at = FAILED, now()
            row.error = f"invalid payload: stored payload does not parse ({type(exc).__name__})"
            return None
        return Job(row.id, row.event, row.action, row.subject, payload, row.attempts)


def heartbeat(db: Database, delivery_id: str) -> None:
    moment = now()
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.status == RUNNING)
                  .values(heartbeat_at=moment))
        s.execute(update(JobLease).where(JobLease.delivery_id == delivery_id)
                  .values(heartbeat_at=moment))


def finish(db: Database, delivery_id: str, *, error: str | None = None) -> None:
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id).values(
            status=FAILED if error else DONE, finished_at=now(), error=error))


def release(db: Database, delivery_id: str, *, error: str) -> None:
    """Give a claimed delivery back after an error, to be retried, or fail it for good."""
    with db.session() as s:
        row = s.get(Delivery, delivery_id)
        if row is None:
            return
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.finished_at = FAILED, now()
        else:
            row.status, row.enqueued_at = QUEUED, now()
        row.error = error


def stuck(db: Database, *, lease: float, requeue: float) -> list[str]:
    """Deliveries to hand back to the queue: queued but never picked up, or running with no
    heartbeat for longer than the lease (their worker died)."""
    moment = now()
    with db.session() as s:
        rows = s.execute(select(Delivery.id).where(or_(
            (Delivery.status == QUEUED)
            & or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < moment - requeue),
            (Delivery.status == RUNNING) & (Delivery.heartbeat_at < moment - lease),
        )).order_by(Delivery.received_at)).scalars()
        return list(rows)


def status(db: Database, delivery_id: str) -> str | None:
    with db.session() as s:
        row = s.get(Delivery, delivery_id)
        return row.status if row else None


def acquire_subject(db: Database, subject: str, delivery_id: str, *, lease: float) -> bool:
    """Hold the subject for this delivery, taking it over if its holder stopped beating."""
    moment = now()
    try:
        with db.session() as s:
            s.add(JobLease(subject=subject, delivery_id=delivery_id, heartbeat_at=moment))
        return True
    except IntegrityError:
        pass
    with db.session() as s:
        taken = affected(s.execute(
            update(JobLease).where(JobLease.subject == subject).where(or_(
                JobLease.delivery_id == delivery_id, JobLease.heartbeat_at < moment - lease))
            .values(delivery_id=delivery_id, heartbeat_at=moment)))
    return taken == 1


def release_subject(db: Database, subject: str, delivery_id: str) -> None:
    with db.session() as s:
        lease = s.get(JobLease, subject)
        if lease is not None and lease.delivery_id == delivery_id:
            s.delete(lease)
