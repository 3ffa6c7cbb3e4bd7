"""Real runs on `local`: transform, generate, plan, apply, plan again, run the program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import copy_provider, environment_without, native_names, write_blocker

from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.cost import estimate
from infrar.engine.infra.runs import (
    PLAN_FILE,
    PlanOutcome,
    default_workdir,
    terraform_environment,
)
from infrar.engine.terraform import PlanDigest, PlanResult, summarize_plan
from infrar.engine.terraform.offline import NULL_PROVIDER_ADDRESS


def test_transform_generate_plan_apply_replan_and_run(project, run, terraform) -> None:
    transformed = run("transform", "-e", "dev", "--out", "build", "src")
    assert transformed.exit_code == 0, transformed.output
    code = (project.root / "build" / "local" / "app.py").read_text()
    assert "from infrar_native.storage import" in code and "infrar.storage" not in code
    assert native_names(project.root / "build" / "local") == {"dev": {"bucket": {
        "archive": "photo-app-dev-archive", "reports": "photo-app-dev-reports",
        "uploads": "photo-app-dev-uploads"}}}

    planned = run("plan", "-e", "dev")
    assert planned.exit_code == 0, planned.output
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in planned.output
    assert "Estimated monthly cost: 0.00 USD" in planned.output
    workdir = default_workdir(project.root, "dev")
    assert (workdir / PLAN_FILE).is_file() and (workdir / f"{PLAN_FILE}.digest.json").is_file()
    assert not (project.root / "buckets").exists()

    applied = run("apply", "-e", "dev")
    assert applied.exit_code == 0, applied.output
    assert "3 added, 0 changed, 0 destroyed" in applied.output
    folders = sorted(p.name for p in (project.root / "buckets").iterdir())
    assert folders == ["photo-app-dev-archive", "photo-app-dev-reports", "photo-app-dev-uploads"]

    again = run("plan", "-e", "dev")
    assert again.exit_code == 0, again.output
    assert again.output.startswith("No changes.")

    # A build serving one environment runs in it when INFRAR_ENVIRONMENT is unset.
    env = {**environment_without("INFRAR_ENVIRONMENT", "INFRAR_PROVIDER"),
           "PYTHONPATH": str(write_blocker(project.root.parent / "blocker"))}
    ran = subprocess.run([sys.executable, "build/local/app.py", str(project.root)], env=env,
                         capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().startswith("file://")
    assert (project.root / "buckets" / "photo-app-dev-reports").iterdir()


def test_apply_refuses_code_changed_since_the_plan(project, run, terraform) -> None:
    assert run("plan", "-e", "dev").exit_code == 0
    project.write("src/more.py", 'from infrar.storage import write\nwrite("extra", "k", "v")\n')
    refused = run("apply", "-e", "dev")
    assert refused.exit_code == 1
    assert "changed since the plan (main.tf)" in refused.output
    assert "infrar plan" in refused.output
    assert not (project.root / "buckets").exists()


def test_apply_refuses_a_tampered_configuration_and_a_spent_plan(project, run, terraform) -> None:
    assert run("plan", "-e", "dev").exit_code == 0
    workdir = default_workdir(project.root, "dev")
    (workdir / "extra.tf").write_text('output "x" {\n  value = 1\n}\n')
    refused = run("apply", "-e", "dev")
    assert refused.exit_code == 1 and "configuration changed since the plan" in refused.output
    (workdir / "extra.tf").unlink()
    assert run("apply", "-e", "dev").exit_code == 0
    spent = run("apply", "-e", "dev")
    assert spent.exit_code == 1 and "no saved plan" in spent.output


def test_plan_markdown_and_dynamic_name_needs_a_value(project, run, terraform) -> None:
    project.write("src/dynamic.py",
                  'import os\nfrom infrar.storage import read\nread(os.environ["B"], "k")\n')
    planned = run("plan", "-e", "dev", "--markdown")
    assert planned.exit_code == 1
    assert "bucket_src_dynamic_py_3_1" in planned.output
    assert "warning: the bucket name is not a literal" in planned.output
    tfvars = default_workdir(project.root, "dev") / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + 'bucket_src_dynamic_py_3_1 = "from-env"\n')
    project.write("src/dynamic.py",
                  'from infrar.storage import read\nread("plain", "k")\n')
    planned = run("plan", "-e", "dev", "--markdown")
    assert planned.exit_code == 0, planned.output
    assert planned.output.startswith("### infrar plan: local / dev")
    assert "\nEstimated cost: 0.00 USD a month&#59; fixed prices as of" in planned.output
    assert planned.output.count("Estimated") == 1
    digest = json.loads((default_workdir(project.root, "dev") / f"{PLAN_FILE}.digest.json")
                        .read_text())["sha256"]
    assert f"Plan digest: <code>{digest}</code>" in planned.output


def test_plan_json_reports_the_plan_for_programs(project, run, terraform, monkeypatch) -> None:
    project.write("src/dynamic.py",
                  'import os\nfrom infrar.storage import read\nread(os.environ["B"], "k")\n')
    monkeypatch.setenv("TF_VAR_bucket_src_dynamic_py_3_1", "from-env")
    planned = run("plan", "-e", "dev", "--json")
    assert planned.exit_code == 0, planned.output
    report = json.loads(planned.stdout)
    assert report["summary"] == {"headline": "Plan: 4 to add, 0 to change, 0 to destroy.",
                                 "no_changes": False, "add": 4, "change": 0, "destroy": 0}
    actions = {r["address"]: r["action"] for r in report["resources"]}
    assert actions['module.storage.null_resource.bucket["uploads"]'] == "create"
    assert set(actions.values()) == {"create"} and len(actions) == 4
    assert {"path": "id", "before": None, "after": "(known after apply)"} in \
        report["resources"][0]["changes"]
    workdir = default_workdir(project.root, "dev")
    recorded = json.loads((workdir / f"{PLAN_FILE}.digest.json").read_text())["sha256"]
    assert report["plan"] == {"file": str(workdir / PLAN_FILE), "digest": recorded}
    cost = report["cost"]
    assert cost["text"].startswith("Estimated monthly cost: 0.00 USD; fixed prices as of")
    assert (cost["currency"], cost["monthly"], cost["delta"]) == ("USD", 0.0, 0.0)
    assert [(line["type"], line["count"]) for line in cost["lines"]] == [("null_resource", 4)]
    [warning] = report["diagnostics"]
    assert (warning["severity"], warning["code"], warning["line"]) == \
        ("warning", "dynamic-name", 3)
    assert warning["path"].endswith("dynamic.py")


def test_plan_json_and_markdown_are_alternatives(project, run) -> None:
    both = run("plan", "-e", "dev", "--json", "--markdown")
    assert both.exit_code == 2 and "choose one" in both.output


def test_offline_environment_only_when_every_provider_is_mirrored(project, terraform) -> None:
    local = load_plugin("local")
    env = terraform_environment(local.provider_sources, project_root=project.root,
                                environ=os.environ)
    config = Path(env["TF_CLI_CONFIG_FILE"]).read_text()
    assert NULL_PROVIDER_ADDRESS in config
    assert terraform_environment({"hashicorp/aws"}, project_root=project.root,
                                 environ=os.environ) == {}


def test_cost_estimate_counts_fixed_prices_before_and_after() -> None:
    pricing = load_plugin("aws").pricing
    plan = {"resource_changes": [
        {"type": "aws_kms_key", "mode": "managed", "change": {"actions": ["create"]}},
        {"type": "aws_kms_key", "mode": "managed", "change": {"actions": ["no-op"]}},
        {"type": "aws_kms_key", "mode": "managed", "change": {"actions": ["delete"]}},
        {"type": "aws_s3_bucket", "mode": "managed", "change": {"actions": ["delete", "create"]}},
        {"type": "aws_caller_identity", "mode": "data", "change": {"actions": ["read"]}},
        {"type": "aws_unknown_thing", "mode": "managed", "change": {"actions": ["create"]}},
    ]}
    cost = estimate(plan, pricing)
    assert (cost.before, cost.after, cost.delta) == (2.0, 2.0, 0.0)
    assert cost.unpriced == ("aws_unknown_thing",)
    assert "Estimated monthly cost: 2.00 USD" in cost.headline
    assert "no price data for aws_unknown_thing" in cost.headline
    created = estimate({"resource_changes": plan["resource_changes"][:1]}, pricing)
    assert "(+1.00 USD with this plan)" in created.headline
    # Without a label of its own, for reports that label it.
    assert created.brief.startswith("1.00 USD a month (+1.00 USD with this plan); fixed prices")
    assert created.headline == "Estimated monthly cost: " + created.brief.replace(" a month", "")


def test_plan_output_never_shows_a_secret_credential(project, run, terraform, monkeypatch,
                                                     tmp_path) -> None:
    plugins = tmp_path / "plugins"
    local = copy_provider("local", plugins)
    schema = local / "authentication" / "filesystem" / "schema.yaml"
    schema.write_text(schema.read_text().replace("x-env: INFRAR_LOCAL_ROOT",
                                                 "x-env: INFRAR_LOCAL_ROOT\n    x-secret: true"))
    monkeypatch.setenv("INFRAR_PLUGIN_PATH", str(plugins))
    secret = "s3cr3t-folder-name"
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(project.root / secret))
    planned = run("plan", "-e", "dev", "--auth-method", "filesystem")
    assert planned.exit_code == 0, planned.output
    assert "triggers.folder" in planned.output
    assert secret not in planned.output and "(redacted)" in planned.output
    as_json = run("plan", "-e", "dev", "--auth-method", "filesystem", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert secret not in as_json.output
    folders = [c["after"] for r in json.loads(as_json.stdout)["resources"]
               for c in r["changes"] if c["path"] == "triggers.folder"]
    assert folders and all("(redacted)" in f for f in folders)
    checked = run("credentials", "check", "-p", "local", "-m", "filesystem")
    assert checked.exit_code == 0 and secret not in checked.output
    assert "INFRAR_LOCAL_ROOT=********" in checked.output


def test_every_plan_format_redacts_secrets_as_the_summary_shows_them(tmp_path: Path) -> None:
    secret = 'zq"xj\\vk'  # a summary shows it as zq\"xj\\\\vk, inside a JSON string
    plan = {"resource_changes": [{
        "address": "x.y", "type": "aws_kms_key", "mode": "managed",
        "change": {"actions": ["create"], "after": {"note": f"key {secret}",
                                                    "token": "hidden-value"},
                   "after_sensitive": {"token": True}}}]}
    digest = PlanDigest("0" * 64, "1" * 64, {})
    result = PlanResult(tmp_path, tmp_path / PLAN_FILE, tmp_path / "d.json", digest, True, "", 0)
    outcome = PlanOutcome(tmp_path, result, summarize_plan(plan),
                          estimate(plan, load_plugin("aws").pricing))
    as_json = json.dumps(outcome.as_json([secret]))
    for shown in (as_json, outcome.text([secret]), outcome.markdown("t", [secret])):
        assert "zq" not in shown and "vk" not in shown and "hidden-value" not in shown
        assert "key (redacted)" in shown
    changes = {c["path"]: c["after"] for c in json.loads(as_json)["resources"][0]["changes"]}
    assert changes == {"note": '"key (redacted)"', "token": "(sensitive)"}
    assert json.loads(as_json)["plan"]["digest"] == digest.sha256


@pytest.fixture(autouse=True)
def _no_user_terraform(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs must not depend on a Terraform the machine happens to have."""
    monkeypatch.setenv("PATH", os.defpath)
