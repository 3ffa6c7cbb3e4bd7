"""`infrar apply` with services: on `local` it applies as without them (`infrar run` runs
them); on a cloud it goes through the deploy, whose steps it shows as plain lines here."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from infrar.cli.main import cli


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_on_local_apply_applies_the_plan_and_builds_no_image(shop: Path) -> None:
    assert invoke("plan", "-e", "dev").exit_code == 0
    applied = invoke("apply", "-e", "dev")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete" in applied.output
    assert "build api" not in applied.output
    assert not (shop / ".infrar" / "images").exists()


def test_on_a_cloud_apply_needs_buildah(shop: Path) -> None:
    without = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                              if not (Path(p) / "buildah").exists())
    applied = invoke("apply", "--provider", "aws", "-e", "dev", env={"PATH": without})
    assert applied.exit_code == 2
    assert "buildah is not installed" in applied.output


def test_on_a_cloud_apply_starts_with_the_reviewed_plan_and_reports_each_step(
        shop: Path) -> None:
    applied = invoke("apply", "--provider", "aws", "-e", "dev")
    assert applied.exit_code == 1, applied.output
    lines = applied.output.splitlines()
    assert lines[0] == "==> apply infrastructure"
    assert any(line.startswith("FAILED apply infrastructure") and "no saved plan" in line
               for line in lines)
    assert "build api" not in applied.output
    assert "error: apply infrastructure: no saved plan" in applied.output
