"""Run one stored delivery: claim it, hold its subject, beat while working, record the outcome."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from huey.exceptions import RetryTask

from infrar.app.fields import PayloadError
from infrar.app.state import deliveries

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

log = logging.getLogger(__name__)

SUBJECT_BUSY_DELAY_S = 2.0
MAX_RETRY_DELAY_S = 60.0


def run_delivery(runtime: Runtime, delivery_id: str) -> None:
    from infrar.app.workflow.router import Context
    from infrar.app.workflow.routes import ROUTER

    db, lease = runtime.db, runtime.settings.lease_seconds
    subject = _subject(runtime, delivery_id)
    if subject is not None and not deliveries.acquire_subject(db, subject, delivery_id,
                                                               lease=lease):
        raise RetryTask(delay=SUBJECT_BUSY_DELAY_S)
    try:
        job = deliveries.claim(db, delivery_id, lease=lease)
        if job is None:
            return  # done already, or a live worker has it
        with _heartbeat(runtime, delivery_id):
            try:
                ROUTER.dispatch(Context(runtime, job), job.event, job.action, job.payload,
                                job)
            except PayloadError as exc:
                # Checked at ingest too; reached by deliveries stored before that check. It can
                # never succeed: failed once, with the reason, no retries.
                log.error("delivery %s (%s.%s) failed for good: invalid payload: %s",
                          delivery_id, job.event, job.action, exc)
                deliveries.finish(db, delivery_id, error=f"invalid payload: {exc}")
                return
            except Exception as exc:
                log.exception("delivery %s (%s.%s) failed on attempt %d", delivery_id,
                              job.event, job.action, job.attempts)
                deliveries.release(db, delivery_id, error=f"{type(exc).__name__}: {exc}")
                if deliveries.status(db, delivery_id) == deliveries.QUEUED:
                    raise RetryTask(delay=min(2.0 ** job.attempts, MAX_RETRY_DELAY_S)) from None
                return
        deliveries.finish(db, delivery_id)
    finally:
        if subject is not None:
            deliveries.release_subject(db, subject, delivery_id)


def _subject(runtime: Runtime, delivery_id: str) -> str | None:
    from infrar.app.state.models import Delivery

    with runtime.db.session() as s:
        row = s.get(Delivery, delivery_id)
        return row.subject if row else None


@contextmanager
def _heartbeat(runtime: Runtime, delivery_id: str) -> Iterator[None]:
    stop = threading.Event()
    interval = max(runtime.settings.lease_seconds / 3, 0.2)

    def beat() -> None:
        while not stop.wait(interval):
            try:
                deliveries.heartbeat(runtime.db, delivery_id)
            except Exception:
                log.warning("heartbeat for delivery %s failed", delivery_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"heartbeat-{delivery_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
