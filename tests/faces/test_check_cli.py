"""`infrar check` runs the pipeline in memory: resource names are checked as transform and
generate check them, through constants other modules define, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from faces_support import CONFIGS, SOURCES, read_tree, write_files

from infrar.cli.check import check


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    write_files(root, {".infrar.yaml": CONFIGS["two-providers"], **SOURCES})
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    monkeypatch.delenv("INFRAR_PROVIDER", raising=False)
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(check, list(args), catch_exceptions=False)


def test_the_faces_project_passes_for_every_configured_provider(project: Path) -> None:
    before = read_tree(project)
    done = run()
    assert done.exit_code == 0, done.output
    assert read_tree(project) == before


def test_a_bad_name_in_a_constant_of_another_module_is_found(project: Path) -> None:
    buckets = project / "src" / "photos" / "buckets.py"
    buckets.write_text(buckets.read_text().replace('"thumbs"', '"Thumbs"'))
    done = run()
    assert done.exit_code == 2
    # Where it is used, for each provider whose rules refuse it.
    assert "src/photos/store.py:13:16: error: bucket name 'Thumbs'" in done.output
    assert "[resource-name]" in done.output
    assert "problems in 6 files checked for local, aws" in done.output


def test_a_literal_bad_name_is_found_in_the_named_file(project: Path) -> None:
    reports = project / "src" / "photos" / "reports.py"
    reports.write_text(reports.read_text().replace('"reports"', '"a${var.x}"'))
    done = run("src/photos/reports.py")
    assert done.exit_code == 2
    assert "src/photos/reports.py:8:5: error: bucket name 'a${var.x}' contains the Terraform " \
           "interpolation sequence" in done.output
