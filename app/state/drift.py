"""What the drift rounds remember: for each repository, project and environment, when it was
last checked, the lease of the round checking it now, and the one issue kept about it.

The issue rows are shared with anything else that keeps one issue per project and environment
(a failed apply after a merge): `topic` tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Float, Integer, String, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from infrar.app.state import db as _db  # partly loaded here (db imports models, models this)
from infrar.app.state.models import Base

if TYPE_CHECKING:
    from infrar.app.state.db import Database


class DriftWatch(Base):
    """One project's environment on a repository's default branch, as the rounds see it."""

    __tablename__ = "drift_watches"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    project: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    environment: Mapped[str] = mapped_column(String(200), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(100), default="")
    """`drift.schedule` as last read from the default branch."""
    checked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    """When the last round finished checking it (UNIX seconds)."""
    holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    leased_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str] = mapped_column(String(20), default="")
    """clean, drifted or error: what the last round found."""


class DriftRepo(Base):
    """The default branch head a round last read the projects of, per repository."""

    __tablename__ = "drift_repos"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(64))
    scanned_at: Mapped[float] = mapped_column(Float)


class KeptIssue(Base):
    """The one GitHub issue kept open about a project's environment, for one topic."""

    __tablename__ = "kept_issues"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    project: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    environment: Mapped[str] = mapped_column(String(200), primary_key=True)
    topic: Mapped[str] = mapped_column(String(50), primary_key=True)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """None: no issue open."""
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    """Of the body last posted, so an unchanged body is not posted again."""
    updated_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Kept:
    number: int | None
    fingerprint: str


@dataclass(frozen=True)
class Watch:
    project: str
    environment: str
    schedule: str
    checked_at: float | None


def watches(db: Database, repo: str) -> list[Watch]:
    with db.session() as s:
        rows = s.execute(select(DriftWatch).where(DriftWatch.repo == repo)).scalars()
        return [Watch(r.project, r.environment, r.schedule, r.checked_at) for r in rows]


def scanned_head(db: Database, repo: str) -> str | None:
    with db.session() as s:
        row = s.get(DriftRepo, repo)
        return row.head_sha if row else None


def record_scan(db: Database, repo: str, *, head_sha: str,
                scheduled: dict[tuple[str, str], str]) -> None:
    """The projects and environments of `head_sha` that set a schedule; watches of the others
    (a schedule removed, a project gone) are dropped."""
    with db.session() as s:
        row = s.get(DriftRepo, repo)
        if row is None:
            s.add(DriftRepo(repo=repo, head_sha=head_sha, scanned_at=_db.now()))
        else:
            row.head_sha, row.scanned_at = head_sha, _db.now()
        for watch in s.execute(select(DriftWatch).where(DriftWatch.repo == repo)).scalars():
            key = (watch.project, watch.environment)
            if key not in scheduled and watch.holder is None:
                s.delete(watch)
            elif key in scheduled:
                watch.schedule = scheduled.pop(key)
        for (project, environment), schedule in scheduled.items():
            s.add(DriftWatch(repo=repo, project=project, environment=environment,
                             schedule=schedule, outcome=""))


def acquire(db: Database, *, repo: str, project: str, environment: str, holder: str,
            lease: float) -> bool:
    """Take the lease on checking this environment; False while another live round has it."""
    moment = _db.now()
    try:
        with db.session() as s:
            s.add(DriftWatch(repo=repo, project=project, environment=environment,
                             holder=holder, leased_at=moment, outcome=""))
        return True
    except IntegrityError:
        pass
    with db.session() as s:
        taken = _db.affected(s.execute(
            update(DriftWatch)
            .where(DriftWatch.repo == repo, DriftWatch.project == project,
                   DriftWatch.environment == environment)
            .where(or_(DriftWatch.holder.is_(None), DriftWatch.holder == holder,
                       DriftWatch.leased_at < moment - lease))
            .values(holder=holder, leased_at=moment)))
    return taken == 1


def renew(db: Database, *, repo: str, project: str, environment: str, holder: str) -> None:
    with db.session() as s:
        s.execute(update(DriftWatch)
                  .where(DriftWatch.repo == repo, DriftWatch.project == project,
                         DriftWatch.environment == environment, DriftWatch.holder == holder)
                  .values(leased_at=_db.now()))


def release(db: Database, *, repo: str, project: str, environment: str, holder: str,
            outcome: str | None = None) -> None:
    """Give the lease back; with `outcome`, the round finished and records when and what."""
    values: dict[str, object] = {"holder": None, "leased_at": None}
    if outcome is not None:
        values |= {"checked_at": _db.now(), "outcome": outcome}
    with db.session() as s:
        s.execute(update(DriftWatch)
                  .where(DriftWatch.repo == repo, DriftWatch.project == project,
                         DriftWatch.environment == environment, DriftWatch.holder == holder)
                  .values(**values))


def kept_issue(db: Database, *, repo: str, project: str, environment: str, topic: str
               ) -> Kept:
    with db.session() as s:
        row = s.get(KeptIssue, (repo, project, environment, topic))
        return Kept(row.number, row.fingerprint) if row else Kept(None, "")


def keep_issue(db: Database, *, repo: str, project: str, environment: str, topic: str,
               number: int | None, fingerprint: str = "") -> None:
    with db.session() as s:
        row = s.get(KeptIssue, (repo, project, environment, topic))
        if row is None:
            row = KeptIssue(repo=repo, project=project, environment=environment, topic=topic)
            s.add(row)
        row.number, row.fingerprint, row.updated_at = number, fingerprint, _db.now()
