"""Terraform for the queue capability: one queue per logical name, least-privilege grants per
operation, secure defaults, `terraform fmt` and checkov clean, and on `local` a real plan and
apply with the packaged Terraform 1.0.3, offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import ALL_PROVIDERS, CLOUDS, environment_without, native_names, write_blocker

from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.generate import generate_paths
from infrar.engine.plugins import load_rules

DOCS = Path(__file__).resolve().parents[2] / "docs" / "queue.md"

QUEUE_APP = '''\
"""Orders come in, are handled and acknowledged; notices only go out."""
import sys

from infrar.queue import ack, receive, send


def main():
    send("orders", "order 1")
    send("orders", "order 2", delay_seconds=0)
    handled = []
    for message in receive("orders", max_messages=10, wait_seconds=1):
        handled.append(message.body)
        ack("orders", message)
    send("notices", f"handled {len(handled)}")
    return sorted(handled)


if __name__ == "__main__":
    print(main(), file=sys.stdout)
'''
SEND_ONLY = 'from infrar.queue import send\nsend("notices", "hello")\n'
OPERATIONS = {"orders": {"send", "receive", "ack"}, "notices": {"send"}}
MODULE = {"local": "queue-folders", "aws": "queue-sqs", "gcp": "queue-pubsub",
          "azure": "queue-storage-queue"}


@pytest.fixture
def queue_project(project):
    """The infra tests' project (local dev, aws production) holding only the queue program."""
    project.write("src/app.py", QUEUE_APP)
    return project


def _generate(provider: str, environment: str = "dev") -> dict[str, str]:
    target = resolve_target(load_project_config(), environment=environment, provider=provider)
    result = generate_paths([Path("src")], target=target)
    assert result.ok, result.diagnostics
    return {name: data.decode() for name, data in result.files.items()}


def _permissions(main_tf: str, logical: str) -> list[str]:
    block = re.search(rf"\n    {logical} = {{\n(.*?)\n    }}", main_tf, re.DOTALL)
    assert block, f"no {logical} in main.tf"
    found = re.search(r"permissions = (\[.*\])", block.group(1))
    assert found, block.group(1)
    listed: list[str] = json.loads(found.group(1))
    return listed


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_one_queue_per_logical_name_with_the_permissions_of_its_operations(
        queue_project, provider) -> None:
    files = _generate(provider)
    assert set(files) == {"backend.tf", "main.tf", "outputs.tf", "providers.tf",
                          "terraform.tfvars", "variables.tf", f"modules/{MODULE[provider]}/main.tf"}
    main_tf = files["main.tf"]
    assert f'source = "./modules/{MODULE[provider]}"' in main_tf
    rules = load_rules(provider, "queue").operations
    for logical, operations in OPERATIONS.items():
        assert f'name        = "photo-app-dev-{logical}"' in main_tf
        wanted = sorted({p for op in operations for p in rules[op].permissions})
        assert _permissions(main_tf, logical) == wanted, logical


@pytest.mark.parametrize(("provider", "granted", "never"), [
    ("aws", ["sqs:GetQueueUrl", "sqs:SendMessage"],
     ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"]),
    ("gcp", ["pubsub.topics.publish"], ["pubsub.subscriptions.consume"]),
    ("azure", ["Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action"],
     ["/messages/process/action", "/messages/read", "/messages/delete"]),
    ("local", ["filesystem:write"], ["filesystem:read", "filesystem:delete"]),
])
def test_send_only_code_gets_no_right_to_receive(project, provider, granted, never) -> None:
    project.write("src/app.py", SEND_ONLY)
    main_tf = _generate(provider)["main.tf"]
    assert _permissions(main_tf, "notices") == granted
    for permission in never:
        assert permission not in main_tf


def test_every_operation_has_real_least_privilege_permissions() -> None:
    pattern = {
        "aws": re.compile(r"sqs:(GetQueueUrl|SendMessage|ReceiveMessage|DeleteMessage)"),
        "gcp": re.compile(r"pubsub\.(topics\.publish|subscriptions\.consume)"),
        "azure": re.compile(r"Microsoft\.Storage/storageAccounts/queueServices/queues/messages/"
                            r"(add|process)/action"),
    }
    for provider in CLOUDS:
        rules = load_rules(provider, "queue").operations
        assert set(rules) == {"send", "receive", "ack"}
        for name, operation in rules.items():
            assert operation.permissions, (provider, name)
            assert all(pattern[provider].fullmatch(p) for p in operation.permissions), name
        # Sending and receiving never share a right: one can be granted without the other.
        sending = set(rules["send"].permissions) - {"sqs:GetQueueUrl"}
        assert not sending & (set(rules["receive"].permissions) | set(rules["ack"].permissions))


@pytest.mark.parametrize(("provider", "needles"), [
    ("aws", ["kms_master_key_id                 = aws_kms_key.this.arn",
             "enable_key_rotation     = true", "deadLetterTargetArn", "maxReceiveCount",
             'redrivePermission = "byQueue"', "aws:SecureTransport",
             'resource "aws_sqs_queue" "dead_letter"', "aws_iam_role_policy_attachment"]),
    ("gcp", ['resource "google_pubsub_topic" "dead_letter"', "dead_letter_policy {",
             "max_delivery_attempts = var.max_delivery_attempts", 'ttl = ""',
             "google_pubsub_topic_iam_member", "google_pubsub_subscription_iam_member",
             "gcp-sa-pubsub.iam.gserviceaccount.com"]),
    ("azure", ['min_tls_version                   = "TLS1_2"',
               "shared_access_key_enabled         = false",
               "infrastructure_encryption_enabled = true", "queue_properties {",
               "delete                = true", 'resource "azurerm_storage_queue" "this"',
               "azurerm_role_assignment"]),
    ("local", ['interpreter = ["mkdir", "-p", "--"]', "/.infrar-queues/"]),
])
def test_secure_defaults(queue_project, provider, needles) -> None:
    module = _generate(provider)[f"modules/{MODULE[provider]}/main.tf"]
    for needle in needles:
        assert needle in module, needle


def test_settings_reach_tfvars_under_the_capability_name(queue_project) -> None:
    tfvars = _generate("aws")["terraform.tfvars"]
    assert re.search(r"queue_max_receive_count\s+= 5", tfvars)
    assert re.search(r"queue_message_retention_seconds\s+= 345600", tfvars)
    gcp = _generate("gcp")["terraform.tfvars"]
    assert re.search(r"queue_max_delivery_attempts\s+= 5", gcp)


def test_a_queue_name_a_provider_refuses_is_an_error_before_hcl(project, run) -> None:
    project.write("src/app.py", 'from infrar.queue import send\nsend("Orders", "x")\n')
    refused = run("generate", "-e", "dev", "-p", "azure", "--out", "tf")
    assert refused.exit_code == 2
    assert "queue name 'Orders' becomes 'photo-app-dev-Orders', which must be 3 to 63 " \
        "lowercase letters" in refused.output
    assert not (project.root / "tf").exists()
    # SQS takes capitals.
    assert run("generate", "-e", "dev", "-p", "aws", "--out", "tf").exit_code == 0


def test_a_dynamic_queue_name_becomes_a_validated_variable(project, run) -> None:
    project.write("src/app.py",
                  'import os\nfrom infrar.queue import receive\nreceive(os.environ["Q"])\n')
    result = run("generate", "-e", "dev", "-p", "gcp", "--out", "tf")
    assert result.exit_code == 0, result.output
    assert "warning: the queue name is not a literal" in result.output
    variables = (project.root / "tf" / "variables.tf").read_text()
    assert 'variable "queue_src_app_py_3_1" {' in variables
    assert "length(var.queue_src_app_py_3_1) <= 243" in variables


def test_output_passes_terraform_fmt_check(queue_project, run, packaged_terraform) -> None:
    for provider in ALL_PROVIDERS:
        generated = run("generate", "-e", "dev", "-p", provider, "--out", f"tf/{provider}")
        assert generated.exit_code == 0, generated.output
    checked = subprocess.run(
        [str(packaged_terraform), "fmt", "-check", "-recursive", "-diff", "tf"],
        capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _checkov() -> list[str]:
    repository = Path(__file__).resolve().parents[2]
    candidates = [os.environ.get("INFRAR_CHECKOV", ""),
                  str(repository / ".venv-checkov" / "bin" / "checkov")]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        pytest.skip("checkov is not installed (make install-test)")
    return [found]


def test_generated_terraform_scans_clean(queue_project, run) -> None:
    command = _checkov()
    for provider in CLOUDS:
        generated = run("generate", "-e", "dev", "-p", provider, "--out", f"tf/{provider}")
        assert generated.exit_code == 0, generated.output
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    scanned = subprocess.run(
        [*command, "-d", "tf", "--framework", "terraform", "--skip-download", "--compact",
         "-o", "json"], capture_output=True, text=True, env=env, check=False, timeout=300)
    report = json.loads(scanned.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and report["summary"]["failed"] == 0, failed
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 30
    declared = {(s.id, s.reason) for p in CLOUDS
                for s in load_plugin(p).service_for("queue").checkov_skips}
    skipped = {(c["check_id"], c["check_result"]["suppress_comment"])
               for c in report["results"]["skipped_checks"]}
    assert skipped == declared


@pytest.mark.parametrize("provider", CLOUDS)
def test_checkov_skips_are_documented(provider) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for skip in load_plugin(provider).service_for("queue").checkov_skips:
        assert f"`{skip.id}`" in docs and skip.reason in docs


def test_local_plan_apply_and_the_transformed_program_runs(queue_project, run,
                                                           terraform) -> None:
    transformed = run("transform", "-e", "dev", "--out", "build", "src")
    assert transformed.exit_code == 0, transformed.output
    tree = queue_project.root / "build" / "local"
    assert "from infrar_native.queue import ack, receive, send" in (tree / "app.py").read_text()
    assert native_names(tree) == {"dev": {"queue": {
        "notices": "photo-app-dev-notices", "orders": "photo-app-dev-orders"}}}

    planned = run("plan", "-e", "dev")
    assert planned.exit_code == 0, planned.output
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in planned.output
    folders = queue_project.root / "buckets" / ".infrar-queues"
    assert not folders.exists()
    applied = run("apply", "-e", "dev")
    assert applied.exit_code == 0, applied.output
    assert sorted(p.name for p in folders.iterdir()) == ["photo-app-dev-notices",
                                                        "photo-app-dev-orders"]
    assert run("plan", "-e", "dev").output.startswith("No changes.")

    env = {**environment_without("INFRAR_ENVIRONMENT", "INFRAR_PROVIDER"),
           "PYTHONPATH": str(write_blocker(queue_project.root.parent / "blocker"))}
    ran = subprocess.run([sys.executable, "build/local/app.py"], env=env, capture_output=True,
                         text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "['order 1', 'order 2']\n"
    [notice] = list((folders / "photo-app-dev-notices" / "ready").iterdir())
    assert notice.read_text(encoding="utf-8") == "handled 2"
