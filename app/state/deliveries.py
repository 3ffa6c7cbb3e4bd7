"""The delivery lifecycle: received -> queued -> running -> done | failed | ignored.

The row is written before GitHub gets its 202, so a crash anywhere after that loses nothing:
the reaper hands stuck rows back to the queue, and the claim makes sure only one worker at a
time ever runs a delivery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from infrar.app.state.db import Database, affected, now
from infrar.app.state.models import Delivery, JobLease

QUEUED, RUNNING, DONE, FAILED, IGNORED = "queued", "running", "done", "failed", "ignored"
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Job:
    id: str
    event: str
    action: str | None
    subject: str | None
    payload: dict[str, Any]
    attempts: int


def record(db: Database, *, delivery_id: str, event: str, action: str | None,
           subject: str | None, payload: bytes | None) -> bool:
    """Store a delivery; False when this delivery id was seen before."""
    moment = now()
    row = Delivery(
        id=delivery_id, event=event, action=action, subject=subject,
        payload=payload.decode() if payload is not None else None,
        status=QUEUED if payload is not None else IGNORED, attempts=0, received_at=moment,
        # Counted as enqueued from the start: if the enqueue that follows fails, the reaper
        # sends it once `requeue` seconds have passed, as for any lost queue message.
        enqueued_at=moment, finished_at=None if payload is not None else moment)
    try:
        with db.session() as s:
            s.add(row)
    except IntegrityError:
        return False
    return True


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
        return Job(row.id, row.event, row.action, row.subject, json.loads(row.payload),
                   row.attempts)


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
