"""Policy checks of plans with the real checkov: its built-in checks, the repository's own custom
policies (YAML), skips with their reasons, and a clear error when checkov is missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from infrar.engine import policy
from infrar.engine.config import load_config
from infrar.engine.policy import (
    CHECKOV_ENV_VAR,
    CheckovNotFoundError,
    PolicyConfigError,
    check_plan,
    find_checkov,
)
from infrar.engine.terraform.markdown import code, escape_html

# What `terraform show -json` gives for a plan that creates a world-writable S3 bucket.
S3_PLAN = {
    "format_version": "1.0", "terraform_version": "1.0.3",
    "planned_values": {"root_module": {"resources": [{
        "address": "aws_s3_bucket.photos", "mode": "managed", "type": "aws_s3_bucket",
        "name": "photos", "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0, "values": {"bucket": "photos", "acl": "public-read-write",
                                        "force_destroy": False, "tags": None}}]}},
    "resource_changes": [{
        "address": "aws_s3_bucket.photos", "mode": "managed", "type": "aws_s3_bucket",
        "name": "photos", "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": ["create"], "before": None,
                   "after": {"bucket": "photos", "acl": "public-read-write"},
                   "after_unknown": {"id": True}}}],
    "configuration": {"root_module": {"resources": [{
        "address": "aws_s3_bucket.photos", "mode": "managed", "type": "aws_s3_bucket",
        "name": "photos", "provider_config_key": "aws",
        "expressions": {"bucket": {"constant_value": "photos"},
                        "acl": {"constant_value": "public-read-write"}}}]}},
}

FOLDER_POLICY = """\
metadata:
  id: CKV2_PHOTOS_1
  name: Bucket folders live under /srv/buckets
  category: GENERAL_SECURITY
  guideline: https://wiki.example.org/buckets
definition:
  cond_type: attribute
  resource_types: [null_resource]
  attribute: triggers.folder
  operator: starting_with
  value: {prefix}
"""


def _checkov() -> Path:
    try:
        return find_checkov()
    except CheckovNotFoundError:
        pytest.skip("checkov is not installed (make install-test)")


def _config(root: Path, text: str):
    (root / ".infrar.yaml").write_text("version: 1\nproject: photos\n" + text)
    return load_config(root / ".infrar.yaml")


def _local_plan(project, run) -> dict:
    """The real `terraform show -json` of the local provider's plan for the project."""
    from infrar.engine.infra.runs import PLAN_FILE, default_workdir
    from infrar.engine.terraform import show_json

    planned = run("plan", "-e", "dev")
    assert planned.exit_code == 0, planned.output
    workdir = default_workdir(project.root, "dev")
    return show_json(workdir / PLAN_FILE, workdir=workdir)


def test_a_builtin_check_fails_a_plan_and_a_declared_skip_is_honoured(tmp_path) -> None:
    checkov = _checkov()
    config = _config(tmp_path, "")
    failed = check_plan(S3_PLAN, config=config, project_root=tmp_path, checkov=checkov)
    assert not failed.passed
    by_id = {f.check_id: f for f in failed.failures}
    assert by_id["CKV_AWS_57"].resource == "aws_s3_bucket.photos"  # public WRITE ACL
    assert "public WRITE" in by_id["CKV_AWS_57"].name
    assert by_id["CKV_AWS_57"].location is None  # a built-in check has no file of ours
    assert code("CKV_AWS_57") in failed.markdown()
    assert code("aws_s3_bucket.photos") in failed.markdown()
    note = failed.annotations(prefix="services/photos")[0]
    assert note["path"] == "services/photos/.infrar.yaml" and note["annotation_level"] == "failure"

    reasons = {check_id: f"{check_id} is accepted here" for check_id in by_id}
    skips = "".join(f"    - id: {i}\n      reason: {r}\n" for i, r in reasons.items())
    skipping = _config(tmp_path, f"policy:\n  skip:\n{skips}")
    result = check_plan(S3_PLAN, config=skipping, project_root=tmp_path, checkov=checkov)
    assert result.passed and result.failures == ()
    assert {(s.id, s.reason) for s in result.skipped} == set(reasons.items())
    markdown = result.markdown()
    assert f"{code('CKV_AWS_57')}: {escape_html('CKV_AWS_57 is accepted here')}" in markdown
    assert "skipped" in result.headline


def test_a_custom_policy_fails_then_passes_on_a_real_local_plan(project, run, terraform) -> None:
    checkov = _checkov()
    shown = _local_plan(project, run)
    policies = project.root / "policies"
    policies.mkdir()
    (policies / "folders.yaml").write_text(FOLDER_POLICY.format(prefix="/srv/buckets/"))
    # checkov imports Python checks from the folder it is given: a repository's are never run.
    ran = project.root.parent / "python-check-ran"
    (policies / "__init__.py").write_text("")
    (policies / "rogue.py").write_text(f"import pathlib\npathlib.Path({str(ran)!r}).touch()\n")
    text = "policy:\n  checkov: false\n  custom: policies\n"
    config = _config(project.root, text)

    failed = check_plan(shown, config=config, project_root=project.root, checkov=checkov)
    assert not failed.passed and not failed.builtin
    assert {f.resource for f in failed.failures} == {
        'module.storage.null_resource.bucket["archive"]',
        'module.storage.null_resource.bucket["reports"]',
        'module.storage.null_resource.bucket["uploads"]'}
    first = failed.failures[0]
    assert (first.check_id, first.location) == ("CKV2_PHOTOS_1", "policies/folders.yaml:2")
    assert first.guideline == "https://wiki.example.org/buckets"
    assert failed.annotations()[0]["path"] == "policies/folders.yaml"
    assert failed.annotations()[0]["start_line"] == 2
    assert code("policies/folders.yaml:2") in failed.markdown()
    assert "([guideline](https://wiki.example.org/buckets))" in failed.markdown()
    assert "built-in checks are off" in failed.markdown()
    assert not ran.exists()

    (policies / "folders.yaml").write_text(FOLDER_POLICY.format(prefix=str(project.root)))
    passed = check_plan(shown, config=config, project_root=project.root, checkov=checkov)
    assert passed.passed and passed.passed_count == 3
    assert "passed (3 passed)" in passed.headline


def test_the_policy_command_exits_2_on_a_failing_policy_and_0_once_it_passes(
        project, run, terraform, monkeypatch) -> None:
    monkeypatch.setenv(CHECKOV_ENV_VAR, str(_checkov()))
    policies = project.root / "policies"
    policies.mkdir()
    (policies / "folders.yaml").write_text(FOLDER_POLICY.format(prefix="/srv/buckets/"))
    with (project.root / ".infrar.yaml").open("a") as handle:
        handle.write("policy:\n  checkov: false\n  custom: policies\n")
    failed = run("policy", "-e", "dev")
    assert failed.exit_code == 2, failed.output
    assert "Plan: 3 to add" in failed.output
    assert "FAILED CKV2_PHOTOS_1" in failed.output and "policies/folders.yaml:2" in failed.output

    (policies / "folders.yaml").write_text(FOLDER_POLICY.format(prefix=str(project.root)))
    passed = run("policy", "-e", "dev", "--json")
    assert passed.exit_code == 0, passed.output
    report = json.loads(passed.output)
    assert report["policy"]["passed"] is True and report["policy"]["passed_count"] == 3
    assert report["plan"]["summary"]["add"] == 3


def test_missing_checkov_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CHECKOV_ENV_VAR, str(tmp_path / "nowhere" / "checkov"))
    with pytest.raises(CheckovNotFoundError, match=f"{CHECKOV_ENV_VAR}=.*not an executable"):
        check_plan(S3_PLAN, config=_config(tmp_path, ""), project_root=tmp_path)
    monkeypatch.delenv(CHECKOV_ENV_VAR)
    monkeypatch.setattr(policy, "SOURCE_CHECKOV", tmp_path / ".venv-checkov" / "bin" / "checkov")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(CheckovNotFoundError, match="checkov is not installed.*docs/policy.md"):
        find_checkov(environ={"PATH": str(empty)})
    with pytest.raises(CheckovNotFoundError, match="not an executable"):
        find_checkov(tmp_path / "checkov", environ={"PATH": str(empty)})


def test_a_custom_folder_outside_the_project_or_missing_is_refused(tmp_path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    outside = _config(root, "policy:\n  custom: ../elsewhere\n")
    with pytest.raises(PolicyConfigError, match="outside the project"):
        check_plan(S3_PLAN, config=outside, project_root=root, checkov=Path(os.devnull))
    missing = _config(root, "policy:\n  custom: policies\n")
    with pytest.raises(PolicyConfigError, match="does not exist"):
        check_plan(S3_PLAN, config=missing, project_root=root, checkov=Path(os.devnull))


def test_a_policy_linked_from_outside_the_project_is_not_read(tmp_path) -> None:
    root = tmp_path / "repo"
    (root / "policies").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "p.yaml").write_text(FOLDER_POLICY.format(prefix="/srv/"))
    (root / "policies" / "linked.yaml").symlink_to(tmp_path / "outside" / "p.yaml")
    (root / "policies" / "shared").symlink_to(tmp_path / "outside")  # a linked folder
    config = _config(root, "policy:\n  checkov: false\n  custom: policies\n")
    result = check_plan(S3_PLAN, config=config, project_root=root, checkov=Path(os.devnull))
    assert result.custom == () and result.passed


def _served_only(monkeypatch) -> None:
    """Checks must go through the checkov server: running checkov as a process fails."""
    def refused(*args, **kwargs):
        raise AssertionError("checkov ran as a process of its own, not through the server")
    monkeypatch.setattr(policy, "USE_SERVER", True)
    monkeypatch.setattr(policy, "_run_process", refused)


def test_the_checkov_server_gives_what_checkov_does_and_keeps_each_projects_policies(
        project, run, terraform, tmp_path, monkeypatch) -> None:
    checkov = _checkov()
    shown = _local_plan(project, run)
    policies = project.root / "policies"
    policies.mkdir()
    (policies / "folders.yaml").write_text(FOLDER_POLICY.format(prefix="/srv/buckets/"))
    with_custom = _config(project.root, "policy:\n  custom: policies\n")
    other = tmp_path / "other"
    other.mkdir()
    without = _config(other, "")
    cases = [(with_custom, project.root), (without, other), (with_custom, project.root)]

    monkeypatch.setattr(policy, "USE_SERVER", False)
    alone = [check_plan(shown, config=c, project_root=r, checkov=checkov).as_json()
             for c, r in cases]
    _served_only(monkeypatch)
    served = [check_plan(shown, config=c, project_root=r, checkov=checkov).as_json()
              for c, r in cases]

    assert served == alone
    ids = [{f["check_id"] for f in result["failures"]} for result in served]
    assert "CKV2_PHOTOS_1" in ids[0] and "CKV2_PHOTOS_1" in ids[2]
    # The first project's custom policy, loaded by the check before, is not the other's.
    assert "CKV2_PHOTOS_1" not in ids[1]
    served_s3 = check_plan(S3_PLAN, config=without, project_root=other, checkov=checkov)
    assert "CKV_AWS_57" in {f.check_id for f in served_s3.failures}


def test_a_check_that_outlives_its_time_is_ended_and_the_server_serves_the_next(
        tmp_path, monkeypatch) -> None:
    checkov = _checkov()
    _served_only(monkeypatch)
    config = _config(tmp_path, "")
    policy.warm_server(checkov).join()
    with pytest.raises(policy.CheckovFailedError, match="timed out after 0.01s"):
        check_plan(S3_PLAN, config=config, project_root=tmp_path, checkov=checkov, timeout=0.01)
    result = check_plan(S3_PLAN, config=config, project_root=tmp_path, checkov=checkov)
    assert "CKV_AWS_57" in {f.check_id for f in result.failures}


def test_without_a_python_beside_checkov_checks_run_checkov_as_a_process(
        tmp_path, monkeypatch) -> None:
    real = _checkov()
    alone = tmp_path / "bin" / "checkov"
    alone.parent.mkdir()
    alone.write_text(f"#!/bin/sh\nexec {real} \"$@\"\n")
    alone.chmod(0o755)
    monkeypatch.setattr(policy, "USE_SERVER", True)
    config = _config(tmp_path, "")
    result = check_plan(S3_PLAN, config=config, project_root=tmp_path, checkov=alone)
    assert "CKV_AWS_57" in {f.check_id for f in result.failures}
