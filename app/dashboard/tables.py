"""Who is signed in: browser sessions and per-operator API tokens, one table.

Only a hash of each cookie or token value is stored; the user's GitHub token (for the access
re-checks) is sealed with the App's keys.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from infrar.app.state.db import Database
from infrar.app.state.models import Base

SESSION, TOKEN = "session", "token"


class Principal(Base):
    __tablename__ = "dashboard_principals"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    login: Mapped[str] = mapped_column(String(200), index=True)
    github_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    sealed_token: Mapped[str] = mapped_column(Text)
    access: Mapped[str] = mapped_column(Text)
    csrf: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)


def create(db: Database) -> None:
    Base.metadata.create_all(db.engine, tables=[Base.metadata.tables[Principal.__tablename__]])
