"""The first apply of a deploy streams Terraform's lines as they come (to the progress display),
through `run_apply`'s `on_output`: here on `local`, with real Terraform."""

from __future__ import annotations

import os
from pathlib import Path

from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.runs import prepare_run, run_apply, run_plan


def test_run_apply_hands_each_output_line_to_on_output(shop: Path) -> None:
    target = resolve_target(load_project_config(), environment="dev")
    prepared = prepare_run(target, [shop], environ=os.environ)
    run_plan(prepared.generation, workdir=prepared.workdir, env=prepared.env)

    lines: list[str] = []
    applied = run_apply(prepared.generation, workdir=prepared.workdir, env=prepared.env,
                        on_output=lines.append)
    assert any(line.startswith("Apply complete!") for line in lines)
    assert "\n".join(lines).strip() in applied.output
