"""The generated Terraform of every cloud scans clean with checkov: no failed check, and every
skip is one the provider declares (with its reason) in service.yaml."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import CLOUDS

from infrar.engine.infra.catalog import load_plugin


def _checkov() -> list[str]:
    # checkov pins old versions of boto3 and packaging, so `make install-test` gives it a
    # virtual environment of its own (.venv-checkov) rather than the project's.
    repository = Path(__file__).resolve().parents[2]
    candidates = [os.environ.get("INFRAR_CHECKOV", ""),
                  str(repository / ".venv-checkov" / "bin" / "checkov"),
                  shutil.which("checkov", path=str(Path(sys.executable).parent)) or ""]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        pytest.skip("checkov is not installed (make install-test)")
    return [found]


def test_generated_terraform_scans_clean(project, run) -> None:
    command = _checkov()
    project.write("src/dynamic.py",
                  'import os\nfrom infrar.storage import read\nread(os.environ["B"], "k")\n')
    for provider in CLOUDS:
        result = run("generate", "-e", "dev", "-p", provider, "--out", f"tf/{provider}")
        assert result.exit_code == 0, result.output
    # BC_SKIP_MAPPING: no attempt to fetch check metadata from the vendor's API (no network).
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    scanned = subprocess.run(
        [*command, "-d", "tf", "--framework", "terraform", "--skip-download", "--compact",
         "-o", "json"],
        capture_output=True, text=True, env=env, check=False, timeout=300)
    report = json.loads(scanned.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0 and summary["passed"] > 50
    declared = {(s.id, s.reason) for p in CLOUDS
                for s in load_plugin(p).service_for("storage").checkov_skips}
    skipped = {(c["check_id"], c["check_result"]["suppress_comment"])
               for c in report["results"]["skipped_checks"]}
    assert skipped == declared
