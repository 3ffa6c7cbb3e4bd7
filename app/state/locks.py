"""Locks per repository and environment: one pull request at a time may plan and apply there."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from infrar.app.state.db import Database, affected, now
from infrar.app.state.models import Lock


@dataclass(frozen=True)
class Holder:
    pr: int
    holder: str
    url: str


def acquire(db: Database, *, repo: str, environment: str, pr: int, holder: str,
            url: str) -> Holder | None:
    """Take the lock for `pr` (or keep it); the other holder when someone else has it."""
    try:
        with db.session() as s:
            s.add(Lock(repo=repo, environment=environment, pr=pr, holder=holder, url=url,
                       acquired_at=now()))
        return None
    except IntegrityError:
        pass
    current = get(db, repo=repo, environment=environment)
    if current is None:  # released in between: try once more
        return acquire(db, repo=repo, environment=environment, pr=pr, holder=holder, url=url)
    return None if current.pr == pr else current


def get(db: Database, *, repo: str, environment: str) -> Holder | None:
    with db.session() as s:
        row = s.get(Lock, (repo, environment))
        return Holder(row.pr, row.holder, row.url) if row else None


def release(db: Database, *, repo: str, pr: int, environment: str | None = None) -> int:
    with db.session() as s:
        query = delete(Lock).where(Lock.repo == repo, Lock.pr == pr)
        if environment is not None:
            query = query.where(Lock.environment == environment)
        return affected(s.execute(query))
