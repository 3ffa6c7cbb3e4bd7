"""The work queue: huey on SQLite (embedded) or Redis (scale-out), chosen by URL.

The queue only says "run delivery X". What X is lives in the database, so a lost queue message
costs a short delay (the reaper re-sends it), never a delivery. When the queue lives in the
same SQLite file as the state (the embedded default), the message is written in the same
transaction as the delivery: one durable write per acknowledgement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper
from huey.signals import SIGNAL_ENQUEUED
from huey.storage import SqliteStorage
from sqlalchemy import event, text
from sqlalchemy.orm import Session

TASK_NAME = "infrar.run_delivery"
DEFAULT_QUEUE_NAME = "infrar"


QUEUED = threading.Event()
"""Set whenever this process queues a delivery. Queue workers of this process wait on it
between polls (worker.py), so with the embedded default a delivery is taken at once instead of
at the next poll of the SQLite queue, which idle workers make only once a second."""


class QueueUrlError(ValueError):
    pass


def build_queue(url: str) -> Huey:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    name = query.pop("queue", DEFAULT_QUEUE_NAME)
    if parts.scheme == "sqlite":
        filename = parts.path[1:]  # as in SQLAlchemy: sqlite:///relative, sqlite:////absolute
        if not filename:
            raise QueueUrlError(f"queue URL {url!r} names no SQLite file")
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        # Waits for the write lock as long as the state's connections do: by default both
        # write the same file.
        return SqliteHuey(name, filename=filename, results=False, utc=True, timeout=30)
    if parts.scheme in ("redis", "rediss", "unix"):
        plain = urlunsplit(parts._replace(query=urlencode(query)))
        return RedisHuey(name, url=plain, results=False, utc=True)
    raise QueueUrlError(f"unsupported queue URL scheme {parts.scheme!r} (use sqlite:// or redis://)")


def register(huey: Huey, run: Callable[[str], None]) -> TaskWrapper:
    """The one task: run a stored delivery by id. Registered under a fixed name, so the web
    process (which only enqueues) and workers agree on it."""

    def run_delivery(delivery_id: str) -> None:
        run(delivery_id)

    def queued(_signal: str, _task: Any, *_args: Any) -> None:
        QUEUED.set()

    huey.signal(SIGNAL_ENQUEUED)(queued)
    return huey.task(name=TASK_NAME)(run_delivery)


EnqueueIn = Callable[[Session, str], None]
# SqliteStorage.enqueue's own statement, run on the state database's connection instead.
_INSERT_TASK = text("INSERT INTO task (queue, data, priority) VALUES (:queue, :data, :priority)")


def enqueuer_in_transaction(huey: Huey, task: TaskWrapper, database: str | None
                            ) -> EnqueueIn | None:
    """A function that queues a delivery inside a state-database session, when the queue is
    SQLite in that very file (`database`); None otherwise (Redis, or another file)."""
    storage = huey.storage
    if not isinstance(storage, SqliteStorage) or not database or database == ":memory:":
        return None
    if Path(storage.filename).resolve() != Path(database).resolve():
        return None

    def enqueue_in(session: Session, delivery_id: str) -> None:
        message = task.s(delivery_id)
        session.execute(_INSERT_TASK, {"queue": storage.name,
                                       "data": huey.serialize_task(message),
                                       "priority": message.priority or 0})
        event.listen(session, "after_commit", _wake, once=True)

    return enqueue_in


def _wake(_session: Session) -> None:
    QUEUED.set()
