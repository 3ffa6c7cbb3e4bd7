"""Terraform state of local backends, kept between runs (remote backends keep their own)."""

from __future__ import annotations

from infrar.app.state.db import Database, now
from infrar.app.state.models import TerraformState


def load(db: Database, *, repo: str, environment: str) -> bytes | None:
    with db.session() as s:
        row = s.get(TerraformState, (repo, environment))
        return bytes(row.state) if row else None


def store(db: Database, *, repo: str, environment: str, state: bytes) -> None:
    with db.session() as s:
        row = s.get(TerraformState, (repo, environment))
        if row is None:
            s.add(TerraformState(repo=repo, environment=environment, state=state, updated_at=now()))
        else:
            row.state, row.updated_at = state, now()
