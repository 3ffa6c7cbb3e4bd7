"""Terraform's output per job (delivery), line by line as it runs, bounded per job.

Lines arrive redacted by the runner (the job's secrets, secret-looking values); GitHub token
shapes are scrubbed once more here. A job's lines are grouped in streams (the environment
planned or applied), so parallel plans of one job do not interleave.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Float, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from infrar.app.logs import scrub
from infrar.app.state.models import Base

if TYPE_CHECKING:  # db imports models, which imports this module
    from infrar.app.state.db import Database

MAX_LINES_PER_JOB = 5000
MAX_LINE_CHARS = 2000
TRUNCATED = "[output truncated: more lines than the App keeps per job]"


class JobOutputLine(Base):
    __tablename__ = "job_output"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(100), index=True)
    stream: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Line:
    id: int
    stream: str
    text: str


def recorder(db: Database, *, job_id: str, stream: str) -> Callable[[str], None]:
    """A line callback (see the Terraform runner's `on_output`) that stores each line, up to
    MAX_LINES_PER_JOB for the whole job, then one line saying the rest was not kept."""

    def record(text: str) -> None:
        with db.session() as s:
            kept = _count(s, job_id)
            if kept > MAX_LINES_PER_JOB:
                return
            if kept == MAX_LINES_PER_JOB:
                text = TRUNCATED
            s.add(JobOutputLine(job_id=job_id, stream=stream,
                                line=scrub(text[:MAX_LINE_CHARS]), created_at=time.time()))

    return record


def _count(s: Session, job_id: str) -> int:
    return int(s.execute(select(func.count()).select_from(JobOutputLine).where(
        JobOutputLine.job_id == job_id)).scalar_one())


def count(db: Database, job_id: str) -> int:
    with db.session() as s:
        return _count(s, job_id)


def lines(db: Database, job_id: str, *, stream: str | None = None, after: int = 0,
          limit: int = MAX_LINES_PER_JOB + 1) -> list[Line]:
    """The job's lines in the order they were printed, from after the line with id `after`."""
    query = select(JobOutputLine).where(JobOutputLine.job_id == job_id,
                                        JobOutputLine.id > after)
    if stream is not None:
        query = query.where(JobOutputLine.stream == stream)
    with db.session() as s:
        rows = s.execute(query.order_by(JobOutputLine.id).limit(limit)).scalars()
        return [Line(r.id, r.stream, r.line) for r in rows]


def streams(db: Database, job_id: str) -> list[str]:
    with db.session() as s:
        return sorted(set(s.execute(select(JobOutputLine.stream).where(
            JobOutputLine.job_id == job_id)).scalars()))
