"""Which installations exist and which repositories each can see."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from infrar.app.state.db import Database, now
from infrar.app.state.models import Installation, InstallationRepo


def upsert(db: Database, *, installation_id: int, account: str, account_type: str,
           suspended: bool = False) -> None:
    with db.session() as s:
        row = s.get(Installation, installation_id)
        if row is None:
            row = Installation(id=installation_id)
            s.add(row)
        row.account, row.account_type = account, account_type
        row.suspended, row.updated_at = suspended, now()


def remove(db: Database, installation_id: int) -> None:
    with db.session() as s:
        s.execute(delete(InstallationRepo).where(
            InstallationRepo.installation_id == installation_id))
        s.execute(delete(Installation).where(Installation.id == installation_id))


def add_repos(db: Database, installation_id: int, names: Iterable[str]) -> None:
    with db.session() as s:
        known = set(repos_in(s, installation_id))
        for name in sorted(set(names) - known):
            s.add(InstallationRepo(installation_id=installation_id, full_name=name))


def remove_repos(db: Database, installation_id: int, names: Iterable[str]) -> None:
    with db.session() as s:
        s.execute(delete(InstallationRepo).where(
            InstallationRepo.installation_id == installation_id,
            InstallationRepo.full_name.in_(list(names))))


def repos(db: Database, installation_id: int) -> list[str]:
    with db.session() as s:
        return repos_in(s, installation_id)


def repos_in(s: Session, installation_id: int) -> list[str]:
    return sorted(s.execute(select(InstallationRepo.full_name).where(
        InstallationRepo.installation_id == installation_id)).scalars())


def get(db: Database, installation_id: int) -> Installation | None:
    with db.session() as s:
        return s.get(Installation, installation_id)
