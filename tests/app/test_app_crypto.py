"""Credentials at rest: AES-256-GCM, bound to their record, readable across key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrar.app.crypto import CryptoError, Vault, new_key, parse_keys
from infrar.app.settings import Settings, SettingsError
from infrar.app.state import credentials
from infrar.app.state.db import Database


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
