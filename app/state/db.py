"""One SQLAlchemy engine per process, chosen by URL: SQLite by default, PostgreSQL to scale out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import CursorResult, Result, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from infrar.app.state.models import Base

T = TypeVar("T")


def now() -> float:
    return time.time()


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def normalise_url(url: str) -> str:
    # psycopg 3 is the driver the `app` extra installs.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = _engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing threads here is fairer and faster than
        # SQLite's busy handler, which sleeps in growing steps.
        self._serial: AbstractContextManager[object] = (
            threading.RLock() if self.is_sqlite else nullcontext())
        self._group = _GroupCommit(self.session) if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def create_schema(self) -> None:
        """Make the tables, or bring those an earlier version made up to date (upgrade.py)."""
        from infrar.app.state.upgrade import upgrade

        upgrade(self.engine, Base.metadata)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._serial, self._sessions() as session, session.begin():
            yield session

    def grouped(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction, committed before this returns. On SQLite, concurrent
        callers share one transaction (group commit): one fsync serves them all, where one
        each would queue them behind each other. `work` must be short and touch nothing but
        the session: when a shared transaction fails, each work runs again alone."""
        if self._group is None:
            with self.session() as session:
                return work(session)
        return self._group.run(work)

    def dispose(self) -> None:
        self.engine.dispose()


@dataclass(eq=False)
class _Work(Generic[T]):
    run: Callable[[Session], T]
    wake: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    result: T | None = None
    error: BaseException | None = None
    committed: bool = False


class _GroupCommit:
    """Leader/follower group commit. A caller that finds no commit in progress leads: it takes
    every waiting work (its own included) into one transaction and commits it; callers that
    arrive meanwhile wait, and the first of them leads the next transaction."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]]) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._waiting: list[_Work[Any]] = []
        self._leading = False

    def run(self, work: Callable[[Session], T]) -> T:
        item: _Work[T] = _Work(work)
        with self._lock:
            self._waiting.append(item)
            leads = not self._leading
            self._leading = True
        if not leads:
            item.wake.wait()
        if not item.finished:  # first in line, or handed the lead
            self._lead()
        if item.error is not None:
            raise item.error
        return cast(T, item.result)

    def _lead(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            try:
                with self._session() as session:
                    results = [w.run(session) for w in batch]
                for w, result in zip(batch, results, strict=True):
                    w.result, w.committed = result, True
            except Exception:
                # One failing work must not fail the others: each again, alone.
                for w in batch:
                    try:
                        with self._session() as session:
                            w.result = w.run(session)
                        w.committed = True
                    except Exception as exc:  # noqa: BLE001 - raised in its caller's thread
                        w.error = exc
        finally:
            with self._lock:
                for w in batch:
                    if not w.committed and w.error is None:
                        w.error = RuntimeError("interrupted before the commit")
                    w.finished = True
                    w.wake.set()
                if self._waiting:
                    self._waiting[0].wake.set()
                else:
                    self._leading = False


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets the web process and the workers read and write the same file concurrently.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
