"""Terraform state of local backends, kept between runs (remote backends keep their own).

State holds every attribute of every resource, sensitive ones included, so it is sealed with
the App's keys and bound to its repository and environment.
"""

from __future__ import annotations

from sqlalchemy import select

from infrar.app.crypto import Vault
from infrar.app.state.db import Database, now
from infrar.app.state.models import TerraformState


def _context(repo: str, environment: str) -> str:
    return f"infrar-tfstate\0{repo}\0{environment}"


def load(db: Database, vault: Vault, *, repo: str, environment: str) -> bytes | None:
    with db.session() as s:
        row = s.get(TerraformState, (repo, environment))
        sealed = bytes(row.state) if row else None
    return None if sealed is None else vault.open_bytes(sealed,
                                                        context=_context(repo, environment))


def store(db: Database, vault: Vault, *, repo: str, environment: str, state: bytes) -> None:
    sealed = vault.seal_bytes(state, context=_context(repo, environment))
    with db.session() as s:
        row = s.get(TerraformState, (repo, environment))
        if row is None:
            s.add(TerraformState(repo=repo, environment=environment, state=sealed,
                                 updated_at=now()))
        else:
            row.state, row.updated_at = sealed, now()


def rotate(db: Database, vault: Vault) -> int:
    """Re-seal every state not yet under the newest key; returns how many changed."""
    changed = 0
    with db.session() as s:
        for row in s.execute(select(TerraformState)).scalars():
            if vault.needs_reseal(bytes(row.state)):
                row.state = vault.reseal_bytes(bytes(row.state),
                                               context=_context(row.repo, row.environment))
                row.updated_at = now()
                changed += 1
    return changed
