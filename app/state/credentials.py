"""Cloud credentials per repository and environment, sealed with AES-256-GCM."""

from __future__ import annotations

from sqlalchemy import select

from infrar.app.crypto import Vault
from infrar.app.state.db import Database, now
from infrar.app.state.models import Credential


def _context(repo: str, environment: str, name: str) -> str:
    return f"infrar-credential\0{repo}\0{environment}\0{name}"


def put(db: Database, vault: Vault, *, repo: str, environment: str, name: str,
        value: str) -> None:
    sealed = vault.seal(value.encode(), context=_context(repo, environment, name))
    with db.session() as s:
        row = s.get(Credential, (repo, environment, name))
        if row is None:
            s.add(Credential(repo=repo, environment=environment, name=name, sealed=sealed,
                             updated_at=now()))
        else:
            row.sealed, row.updated_at = sealed, now()


def environment_for(db: Database, vault: Vault, *, repo: str, environment: str) -> dict[str, str]:
    """Name -> plaintext, for the Terraform process environment only."""
    with db.session() as s:
        rows = s.execute(select(Credential).where(
            Credential.repo == repo, Credential.environment == environment)).scalars().all()
        return {r.name: vault.open(r.sealed, context=_context(repo, environment, r.name)).decode()
                for r in rows}


def rotate(db: Database, vault: Vault) -> int:
    """Re-seal every value not yet under the newest key; returns how many changed."""
    changed = 0
    with db.session() as s:
        for row in s.execute(select(Credential)).scalars():
            if vault.needs_reseal(row.sealed):
                row.sealed = vault.reseal(
                    row.sealed, context=_context(row.repo, row.environment, row.name))
                row.updated_at = now()
                changed += 1
    return changed
