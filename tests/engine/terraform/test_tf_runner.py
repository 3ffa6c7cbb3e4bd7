"""End to end through the real Terraform 1.0.3 and the offline null provider mirror."""

from __future__ import annotations

import hashlib
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tf_test_helpers import SECRET, assert_balanced, write_config

from infrar.engine import terraform as tf
from infrar.engine.terraform.runner import digest_path

HOSTILE = "ends ``` here </details> <details> | col | `tick` @someone"

MAIN_TF = f"""
variable "secret" {{
  type      = string
  sensitive = true
}}

resource "null_resource" "app" {{
  triggers = {{
    token = var.secret
    name  = "app"
  }}
}}

resource "null_resource" "hostile" {{
  triggers = {{
    note = {HOSTILE!r}
  }}
}}

output "token" {{
  value     = var.secret
  sensitive = true
}}

output "app_id" {{
  value = null_resource.app.id
}}
""".replace("'", '"')

TFVARS = f'secret = "{SECRET}"\n'


@dataclass
class Flow:
    workdir: Path
    first: tf.PlanResult
    summary: tf.PlanSummary
    applied: tf.ApplyResult
    second: tf.PlanResult
    second_summary: tf.PlanSummary
    timings: dict[str, float]


@pytest.fixture(scope="module")
def flow(tf_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Flow:
    workdir = write_config(
        tmp_path_factory.mktemp("flow") / "stack", {"main.tf": MAIN_TF, "dev.tfvars": TFVARS}
    )
    timings: dict[str, float] = {}

    def timed(name: str, call):
        started = time.monotonic()
        result = call()
        timings[name] = time.monotonic() - started
        return result

    timed("init", lambda: tf.init(workdir, env=tf_env))
    plans = workdir / ".infrar"
    var_files = [workdir / "dev.tfvars"]
    first = timed(
        "plan",
        lambda: tf.plan(workdir, plan_file=plans / "1.tfplan", var_files=var_files, env=tf_env),
    )
    summary = tf.summarize_plan(tf.show_json(first.plan_file, workdir=workdir, env=tf_env))
    applied = timed("apply", lambda: tf.apply(workdir, plan_file=first.plan_file, env=tf_env))
    second = tf.plan(workdir, plan_file=plans / "2.tfplan", var_files=var_files, env=tf_env)
    second_summary = tf.summarize_plan(tf.show_json(second.plan_file, workdir=workdir, env=tf_env))
    print("terraform timings:", {k: round(v, 2) for k, v in timings.items()})
    return Flow(workdir, first, summary, applied, second, second_summary, timings)


def test_plan_summary_counts_adds(flow: Flow) -> None:
    s = flow.summary
    assert flow.first.has_changes and not s.no_changes
    assert (s.add, s.change, s.destroy) == (2, 0, 0)
    assert [(r.address, r.type, r.actions) for r in s.resources] == [
        ("null_resource.app", "null_resource", ("create",)),
        ("null_resource.hostile", "null_resource", ("create",)),
    ]
    assert {o.name: o.after for o in s.outputs} == {
        "app_id": "(known after apply)",
        "token": "(sensitive)",
    }
    attrs = {a.path: a.after for a in s.resources[0].attributes}
    assert attrs["triggers.token"] == "(sensitive)" and attrs["triggers.name"] == '"app"'


def test_sensitive_value_never_rendered(flow: Flow) -> None:
    markdown = tf.render_markdown(flow.summary, title="dev")
    rendered = [
        tf.render_text(flow.summary),
        markdown,
        *tf.split_markdown(markdown, limit=400),
        repr(flow.summary),
        flow.first.output,
        flow.applied.output,
    ]
    for text in rendered:
        assert SECRET not in text
    assert "(sensitive)" in rendered[0] and "(sensitive)" in markdown
    assert "Plan: 2 to add, 0 to change, 0 to destroy" in markdown


def test_digest_covers_plan_and_configuration(flow: Flow) -> None:
    digest = flow.first.digest
    assert flow.first.digest_file == digest_path(flow.first.plan_file)
    assert digest.plan_sha256 == hashlib.sha256(flow.first.plan_file.read_bytes()).hexdigest()
    assert list(digest.files) == [".terraform.lock.hcl", "dev.tfvars", "main.tf"]


def test_apply_then_second_plan_has_no_changes(flow: Flow) -> None:
    assert "Apply complete! Resources: 2 added" in flow.applied.output
    assert not flow.second.has_changes
    assert flow.second_summary.no_changes
    assert tf.render_text(flow.second_summary).startswith("No changes.")
    assert list(flow.workdir.glob(".infrar/.apply-*")) == []


def test_whole_flow_is_quick(flow: Flow) -> None:
    assert sum(flow.timings.values()) < 30, flow.timings


@pytest.fixture
def planned(tf_env: dict[str, str], tmp_path: Path) -> tuple[Path, Path]:
    workdir = write_config(tmp_path / "stack", {"main.tf": 'resource "null_resource" "x" {}\n'})
    tf.init(workdir, env=tf_env)
    result = tf.plan(workdir, plan_file=tmp_path / "x.tfplan", env=tf_env)
    return workdir, result.plan_file


def test_apply_refuses_when_tf_changed_after_planning(
    tf_env: dict[str, str], planned: tuple[Path, Path]
) -> None:
    workdir, plan_file = planned
    main = workdir / "main.tf"
    original = main.read_text()
    main.write_text(original + "# edited after review\n")
    with pytest.raises(tf.StalePlanError, match="main.tf") as caught:
        tf.apply(workdir, plan_file=plan_file, env=tf_env)
    assert caught.value.changed_files == ("main.tf",)
    (workdir / "extra.tf").write_text("")
    main.write_text(original)
    with pytest.raises(tf.StalePlanError, match="extra.tf"):
        tf.apply(workdir, plan_file=plan_file, env=tf_env)
    (workdir / "extra.tf").unlink()
    assert "1 added" in tf.apply(workdir, plan_file=plan_file, env=tf_env).output


def test_apply_refuses_a_changed_or_unrecorded_plan_file(
    tf_env: dict[str, str], planned: tuple[Path, Path]
) -> None:
    workdir, plan_file = planned
    plan_file.write_bytes(plan_file.read_bytes() + b"\0")
    with pytest.raises(tf.StalePlanError, match="plan file .* changed"):
        tf.apply(workdir, plan_file=plan_file, env=tf_env)
    digest_path(plan_file).unlink()
    with pytest.raises(tf.StalePlanError, match="no digest"):
        tf.apply(workdir, plan_file=plan_file, env=tf_env)


def test_failing_configuration_surfaces_terraform_error_redacted(
    tf_env: dict[str, str], tmp_path: Path
) -> None:
    leaked = "AKIA" + "ABCDEFGHIJKLMNOP"
    bad = f'resource "null_resource" "x" {{\n  bogus = "{SECRET} {leaked}"\n}}\n'
    workdir = write_config(tmp_path / "bad", {"main.tf": bad})
    tf.init(workdir, env=tf_env)
    plan_file = tmp_path / "bad.tfplan"
    with pytest.raises(tf.TerraformError) as caught:
        tf.plan(workdir, plan_file=plan_file, env=tf_env, secrets=[SECRET])
    error = caught.value
    assert error.command == "plan" and error.returncode == 1
    assert 'An argument named "bogus" is not expected here' in error.stderr
    assert "Unsupported argument" in str(error)
    assert SECRET not in str(error) and leaked not in str(error)
    assert "(redacted)" in error.stderr
    assert not digest_path(plan_file).exists()


def test_secret_named_env_values_are_redacted(tf_env: dict[str, str], tmp_path: Path) -> None:
    workdir = write_config(tmp_path / "bad", {"main.tf": f'locals {{\n  x = "{SECRET}"\n'})
    with pytest.raises(tf.TerraformError) as caught:
        tf.init(workdir, env={**tf_env, "DB_PASSWORD": SECRET})
    assert caught.value.command == "init"
    assert SECRET not in str(caught.value) and caught.value.stderr


def test_timeout_interrupts_the_command(tmp_path: Path) -> None:
    slow = tmp_path / "slow-terraform"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    started = time.monotonic()
    with pytest.raises(tf.TerraformTimeoutError, match="timed out after 0.5s"):
        tf.init(tmp_path, binary=slow, timeout=0.5)
    assert time.monotonic() - started < 10


def test_timeout_interrupts_a_command_whose_lines_are_passed_on(tmp_path: Path) -> None:
    slow = tmp_path / "slow-terraform"
    slow.write_text("#!/bin/sh\necho Initializing\nexec sleep 30\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(tf.TerraformTimeoutError, match="timed out after 0.5s") as caught:
        tf.init(tmp_path, binary=slow, timeout=0.5, on_output=lines.append)
    assert time.monotonic() - started < 10
    assert lines == ["Initializing"] and "Initializing" in caught.value.stdout


def test_fmt_check(tf_env: dict[str, str], tmp_path: Path) -> None:
    tidy = write_config(tmp_path / "tidy", {"main.tf": 'resource "null_resource" "x" {}\n'})
    assert tf.fmt_check(tidy, env=tf_env) == tf.FmtResult(True, ())
    messy = write_config(
        tmp_path / "messy", {"main.tf": 'resource "null_resource" "x" {\ntriggers={a="1"}\n}\n'}
    )
    assert tf.fmt_check(messy, env=tf_env) == tf.FmtResult(False, ("main.tf",))
    broken = write_config(tmp_path / "broken", {"main.tf": 'resource "x" {\n'})
    with pytest.raises(tf.TerraformError, match="fmt"):
        tf.fmt_check(broken, env=tf_env)


def test_huge_plan_splits_into_balanced_parts(tf_env: dict[str, str], tmp_path: Path) -> None:
    config = """
resource "null_resource" "many" {
  count = 300
  triggers = {
    index = count.index
    blob  = "${count.index} ``` <details> | padding padding padding padding padding padding"
  }
}
"""
    workdir = write_config(tmp_path / "huge", {"main.tf": config})
    tf.init(workdir, env=tf_env)
    result = tf.plan(workdir, plan_file=tmp_path / "huge.tfplan", env=tf_env)
    summary = tf.summarize_plan(tf.show_json(result.plan_file, workdir=workdir, env=tf_env))
    assert (summary.add, len(summary.resources)) == (300, 300)
    markdown = tf.render_markdown(summary, title="huge")
    limit = 12_000
    parts = tf.split_markdown(markdown, limit=limit)
    assert len(markdown) > 4 * limit and len(parts) >= 5
    for part in parts:
        assert len(part) <= limit
        assert_balanced(part)
    joined = "\n".join(parts)
    for i in (0, 150, 299):
        assert f"null_resource.many[{i}]" in joined
