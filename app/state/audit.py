"""The audit log: who changed what, when, through the dashboard or its API."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Float, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from infrar.app.state.models import Base

if TYPE_CHECKING:  # db imports models, which imports this module
    from infrar.app.state.db import Database


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    repo: Mapped[str | None] = mapped_column(String(300), index=True)
    target: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Entry:
    id: int
    at: float
    actor: str
    action: str
    repo: str | None
    target: str
    outcome: str


def record(db: Database, *, actor: str, action: str, target: str, outcome: str,
           repo: str | None = None) -> int:
    with db.session() as s:
        row = AuditEntry(at=time.time(), actor=actor, action=action, repo=repo, target=target,
                         outcome=outcome)
        s.add(row)
        s.flush()
        return int(row.id)


def recent(db: Database, *, repos: Collection[str], actor: str, limit: int = 200
           ) -> list[Entry]:
    """Entries about any of `repos`, and every entry of `actor` (signing in, tokens)."""
    query = select(AuditEntry).where(or_(AuditEntry.repo.in_(list(repos)),
                                         AuditEntry.actor == actor))
    with db.session() as s:
        rows = s.execute(query.order_by(AuditEntry.id.desc()).limit(limit)).scalars()
        return [Entry(r.id, r.at, r.actor, r.action, r.repo, r.target, r.outcome) for r in rows]


def finish(db: Database, entry_id: int, outcome: str) -> None:
    """Say how a recorded change ended (entries are written before the change is made)."""
    with db.session() as s:
        row = s.get(AuditEntry, entry_id)
        if row is not None:
            row.outcome = outcome
