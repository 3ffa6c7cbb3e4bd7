"""`infrar plan` prints the review's services table after the plan: each service, its image
and what its code is granted (on `local`: run by `infrar run`, operations from the code)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from infrar.cli.main import cli


def test_plan_prints_each_service_and_its_rights(shop: Path) -> None:
    planned = CliRunner().invoke(cli, ["plan", "-e", "dev"], catch_exceptions=False)
    assert planned.exit_code == 0, planned.output
    text = planned.output
    assert text.index("Saved plan:") < text.index("#### Services")
    rows = [line for line in text.splitlines() if line.startswith("| api |")]
    assert len(rows) == 1
    assert rows[0].startswith("| api | http | runs locally (`infrar run`) | ")
    assert "| read, write |" in rows[0]
