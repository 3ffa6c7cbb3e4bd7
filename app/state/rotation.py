"""Key rotation over everything sealed: credentials, plan archives, Terraform state."""

from __future__ import annotations

from infrar.app.crypto import Vault
from infrar.app.state import credentials, plans, tfstate
from infrar.app.state.db import Database


def rotate_all(db: Database, vault: Vault) -> dict[str, int]:
    """Re-seal under the newest key (sealing values stored before encryption at rest);
    how many values changed, by kind."""
    return {"credentials": credentials.rotate(db, vault), "plans": plans.rotate(db, vault),
            "states": tfstate.rotate(db, vault)}
