"""Secrets at rest (credentials, plan archives, Terraform state): AES-256-GCM, bound to their
record, readable across key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from infrar.app.crypto import CryptoError, Vault, new_key, parse_keys
from infrar.app.settings import Settings, SettingsError
from infrar.app.state import credentials, plans, tfstate
from infrar.app.state.db import Database
from infrar.app.state.models import Plan, TerraformState
from infrar.app.state.rotation import rotate_all


def test_seal_open_and_bind_to_context() -> None:
    vault = Vault(parse_keys(new_key()))
    sealed = vault.seal(b"AKIA-secret", context="repo-a")
    assert b"AKIA" not in sealed.encode() and vault.open(sealed, context="repo-a") == b"AKIA-secret"
    with pytest.raises(CryptoError):
        vault.open(sealed, context="repo-b")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(CryptoError):
        vault.open(tampered, context="repo-a")


def test_rotation_keeps_old_values_readable_and_reseals(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_schema()
    credentials.put(db, Vault(parse_keys(old)), repo="acme/x", environment="prod",
                    name="AWS_SECRET_ACCESS_KEY", value="s3cr3t")
    rotated = Vault(parse_keys(f"{new},{old}"))
    assert credentials.environment_for(db, rotated, repo="acme/x", environment="prod") == {
        "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    assert credentials.rotate(db, rotated) == 1
    only_new = Vault(parse_keys(new))
    assert credentials.environment_for(db, only_new, repo="acme/x", environment="prod") == {
        "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    with pytest.raises(CryptoError):
        credentials.environment_for(db, Vault(parse_keys(old)), repo="acme/x",
                                    environment="prod")


def test_bad_keys_and_missing_key_are_refused() -> None:
    with pytest.raises(SettingsError, match="32"):
        Settings.from_env({"INFRAR_WEBHOOK_SECRET": "x", "INFRAR_ENCRYPTION_KEY": "c2hvcnQ="})
    with pytest.raises(SettingsError, match="base64"):
        Settings.from_env({"INFRAR_WEBHOOK_SECRET": "x", "INFRAR_ENCRYPTION_KEY": "!!"})
    with pytest.raises(CryptoError):
        Vault(()).seal(b"x", context="c")


def test_private_key_from_path_and_inline(tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
    by_path = Settings.from_env({"INFRAR_WEBHOOK_SECRET": "x",
                                 "INFRAR_GITHUB_PRIVATE_KEY_PATH": str(pem)})
    inline = Settings.from_env({"INFRAR_WEBHOOK_SECRET": "x",
                                "INFRAR_GITHUB_PRIVATE_KEY": "-----BEGIN KEY-----\\nabc\\n"
                                                             "-----END KEY-----\\n"})
    assert by_path.private_key == inline.private_key == pem.read_text()
    assert "abc" not in repr(by_path) and "x" not in repr(by_path).split("app_id")[0]


NAME = b"photos-production-uploads"
SECRET_VALUE = b"tf-var-s3cr3t-value"


def raw_files(tmp_path: Path) -> bytes:
    """Everything SQLite wrote: the database, its WAL and shared memory."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("state.db*")))


def save_plan(db: Database, vault: Vault, archive: bytes, *, pr: int = 1) -> int:
    return plans.save(db, vault, repo="acme/x", pr=pr, environment="prod", provider="local",
                      head_sha="a" * 40, digest="d" * 64, archive=archive, headline="Plan: 1",
                      has_changes=True, delivery_id="d1")


def test_plans_and_state_are_sealed_at_rest(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_schema()
    vault = Vault(parse_keys(new_key()))
    archive = b"resource " + NAME + b' { secret = "' + SECRET_VALUE + b'" }'
    state = b'{"resources": [{"name": "' + NAME + b'", "value": "' + SECRET_VALUE + b'"}]}'
    save_plan(db, vault, archive)
    tfstate.store(db, vault, repo="acme/x", environment="prod", state=state)
    stored = raw_files(tmp_path)
    assert NAME not in stored and SECRET_VALUE not in stored
    with db.session() as s:
        row = s.execute(select(Plan)).scalar_one()
        assert bytes(row.archive).startswith(b"v1:")
        assert bytes(s.execute(select(TerraformState.state)).scalar_one()).startswith(b"v1:")
    plan = plans.latest(db, repo="acme/x", pr=1, environment="prod")
    assert plan is not None and plans.archive_of(vault, plan) == archive
    assert tfstate.load(db, vault, repo="acme/x", environment="prod") == state
    with pytest.raises(CryptoError):  # another App's keys
        tfstate.load(db, Vault(parse_keys(new_key())), repo="acme/x", environment="prod")


def test_sealed_plans_and_state_are_bound_to_their_rows(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_schema()
    vault = Vault(parse_keys(new_key()))
    save_plan(db, vault, b"reviewed plan")
    tfstate.store(db, vault, repo="acme/x", environment="prod", state=b"{}")
    with db.session() as s:
        sealed_state = s.get(TerraformState, ("acme/x", "prod"))
        assert sealed_state is not None
        s.add(TerraformState(repo="acme/other", environment="prod", state=sealed_state.state,
                             updated_at=0.0))
        plan = s.execute(select(Plan)).scalar_one()
        plan.head_sha = "b" * 40  # a tampered row no longer opens its archive
    with pytest.raises(CryptoError):
        tfstate.load(db, vault, repo="acme/other", environment="prod")
    tampered = plans.latest(db, repo="acme/x", pr=1, environment="prod")
    assert tampered is not None
    with pytest.raises(CryptoError):
        plans.archive_of(vault, tampered)


def test_rotation_reseals_plans_and_state_and_seals_legacy_values(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_schema()
    save_plan(db, Vault(parse_keys(old)), b"plan under the old key")
    with db.session() as s:  # as written before encryption at rest
        s.add(TerraformState(repo="acme/x", environment="prod", state=b'{"legacy": true}',
                             updated_at=0.0))
    rotated = Vault(parse_keys(f"{new},{old}"))
    with pytest.raises(CryptoError, match="rotate-key"):
        tfstate.load(db, rotated, repo="acme/x", environment="prod")
    assert rotate_all(db, rotated) == {"credentials": 0, "plans": 1, "states": 1}
    assert rotate_all(db, rotated) == {"credentials": 0, "plans": 0, "states": 0}
    only_new = Vault(parse_keys(new))
    plan = plans.latest(db, repo="acme/x", pr=1, environment="prod")
    assert plan is not None and plans.archive_of(only_new, plan) == b"plan under the old key"
    assert tfstate.load(db, only_new, repo="acme/x", environment="prod") == b'{"legacy": true}'
