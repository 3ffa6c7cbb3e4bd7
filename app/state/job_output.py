"""Terraform's output per job (delivery), line by line as it runs, bounded per job.

Lines arrive redacted by the runner (the job's secrets, secret-looking values); GitHub token
shapes are scrubbed once more here. What is left still names resources and values of the
plan, so lines are stored sealed with the App's keys, like plans and state. A job's lines are
grouped in streams (the environment planned or applied), so parallel plans of one job do not
interleave. Lines are written in small batches (every FLUSH_S while they come), not one
transaction each, so recording costs a plan next to nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Float, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from infrar.app.logs import scrub
from infrar.app.state.models import Base

if TYPE_CHECKING:  # db imports models, which imports this module
    from infrar.app.crypto import Vault
    from infrar.app.state.db import Database

MAX_LINES_PER_JOB = 5000
MAX_LINE_CHARS = 2000
TRUNCATED = "[output truncated: more lines than the App keeps per job]"
UNREADABLE = "[sealed with a key the App no longer has]"
FLUSH_S = 0.25
IDLE_S = 2.0  # the flusher stops after this long without a line (and starts again on one)


class JobOutputLine(Base):
    __tablename__ = "job_output"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(100), index=True)
    stream: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(Text)
    """Sealed (see `_context`)."""
    created_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Line:
    id: int
    stream: str
    text: str


def _context(job_id: str, stream: str) -> str:
    return f"infrar-job-output\0{job_id}\0{stream}"


class Recorder:
    """A line callback (the Terraform runner's `on_output`) that stores each line, up to
    MAX_LINES_PER_JOB for the whole job, then one line saying the rest was not kept. Without
    an encryption key it keeps nothing (nothing can be planned then either)."""

    def __init__(self, db: Database, vault: Vault, *, job_id: str, stream: str) -> None:
        self._db, self._vault, self._job, self._stream = db, vault, job_id, stream
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def __call__(self, text: str) -> None:
        if not self._vault.can_seal:
            return
        with self._lock:
            self._pending.append(scrub(text[:MAX_LINE_CHARS]))
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_while_busy, daemon=True,
                                                 name=f"job-output-{self._job}")
                self._flusher.start()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self._write(batch)

    def _flush_while_busy(self) -> None:
        idle = 0.0
        while True:
            time.sleep(FLUSH_S)
            with self._lock:
                batch, self._pending = self._pending, []
                idle = 0.0 if batch else idle + FLUSH_S
                if not batch and idle >= IDLE_S:
                    self._flusher = None
                    return
            if batch:
                self._write(batch)

    def _write(self, batch: list[str]) -> None:
        context = _context(self._job, self._stream)
        with self._db.session() as s:
            kept = _count(s, self._job)
            for text in batch:
                if kept > MAX_LINES_PER_JOB:
                    return
                kept += 1
                if kept > MAX_LINES_PER_JOB:
                    text = TRUNCATED
                s.add(JobOutputLine(job_id=self._job, stream=self._stream,
                                    line=self._vault.seal(text.encode(), context=context),
                                    created_at=time.time()))


def recorder(db: Database, vault: Vault, *, job_id: str, stream: str) -> Recorder:
    return Recorder(db, vault, job_id=job_id, stream=stream)


def _count(s: Session, job_id: str) -> int:
    return int(s.execute(select(func.count()).select_from(JobOutputLine).where(
        JobOutputLine.job_id == job_id)).scalar_one())


def count(db: Database, job_id: str) -> int:
    with db.session() as s:
        return _count(s, job_id)


def lines(db: Database, vault: Vault, job_id: str, *, stream: str | None = None,
          after: int = 0, limit: int = MAX_LINES_PER_JOB + 1) -> list[Line]:
    """The job's lines in the order they were printed, from after the line with id `after`."""
    query = select(JobOutputLine).where(JobOutputLine.job_id == job_id,
                                        JobOutputLine.id > after)
    if stream is not None:
        query = query.where(JobOutputLine.stream == stream)
    with db.session() as s:
        rows = list(s.execute(query.order_by(JobOutputLine.id).limit(limit)).scalars())
    return [Line(r.id, r.stream, _open(vault, r)) for r in rows]


def _open(vault: Vault, row: JobOutputLine) -> str:
    from infrar.app.crypto import CryptoError

    try:
        return vault.open(row.line, context=_context(row.job_id, row.stream)).decode()
    except CryptoError:
        return UNREADABLE


def streams(db: Database, job_id: str) -> list[str]:
    with db.session() as s:
        return sorted(set(s.execute(select(JobOutputLine.stream).where(
            JobOutputLine.job_id == job_id)).scalars()))
