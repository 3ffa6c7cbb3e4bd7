"""Locks per repository, project and environment: one pull request at a time may plan and
apply there. The root project's key is empty."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from infrar.app.state.db import Database, affected, now
from infrar.app.state.models import Lock


@dataclass(frozen=True)
class Holder:
    pr: int
    holder: str
    url: str


def acquire(db: Database, *, repo: str, environment: str, pr: int, holder: str,
            url: str, project: str = "") -> Holder | None:
    """Take the lock for `pr` (or keep it); the other holder when someone else has it."""
    try:
        with db.session() as s:
            s.add(Lock(repo=repo, project=project, environment=environment, pr=pr,
                       holder=holder, url=url, acquired_at=now()))
        return None
    except IntegrityError:
        pass
    current = get(db, repo=repo, environment=environment, project=project)
    if current is None:  # released in between: try once more
        return acquire(db, repo=repo, environment=environment, pr=pr, holder=holder, url=url,
                       project=project)
    return None if current.pr == pr else current


def get(db: Database, *, repo: str, environment: str, project: str = "") -> Holder | None:
    with db.session() as s:
        row = s.get(Lock, (repo, project, environment))
        return Holder(row.pr, row.holder, row.url) if row else None


def held(db: Database, *, repo: str, pr: int) -> list[tuple[str, str]]:
    """(project, environment) of every lock `pr` holds."""
    with db.session() as s:
        rows = s.execute(select(Lock.project, Lock.environment).where(
            Lock.repo == repo, Lock.pr == pr).order_by(Lock.project, Lock.environment))
        return [(str(p), str(e)) for p, e in rows]


def release(db: Database, *, repo: str, pr: int, environment: str | None = None,
            project: str | None = None, keep: frozenset[tuple[str, str]] = frozenset()) -> int:
    """Release `pr`'s locks (of one project and/or environment when given), except `keep`."""
    with db.session() as s:
        query = delete(Lock).where(Lock.repo == repo, Lock.pr == pr)
        if environment is not None:
            query = query.where(Lock.environment == environment)
        if project is not None:
            query = query.where(Lock.project == project)
        for kept_project, kept_environment in keep:
            query = query.where(~((Lock.project == kept_project)
                                  & (Lock.environment == kept_environment)))
        return affected(s.execute(query))
