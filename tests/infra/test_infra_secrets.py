"""The Terraform of the secrets capability: secrets become resources, values never do.

Generation per provider (formatted, least privilege per operation, names checked), the local
plan and apply with the packaged Terraform 1.0.3 and no network, and a canary value written in
the code that reaches no generated file, no plan, no diagnostic and no CLI output.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from infra_support import ALL_PROVIDERS, CLOUDS, environment_without, write_blocker

from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.generate import generate_paths
from infrar.engine.infra.runs import default_workdir
from infrar.engine.plugins import load_rules

SECRETS_APP = '''\
"""Reads its database password, rotates its API token."""
from infrar.secrets import get_secret, set_secret


def main():
    password = get_secret("db-password")
    set_secret("api-token", "{canary}")
    return len(password), get_secret("api-token") == "{canary}"


if __name__ == "__main__":
    print(main())
'''
READ_ONLY_APP = 'from infrar.secrets import get_secret\nget_secret("db-password")\n'
GRANTED = {
    "aws": ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"),
    "gcp": ("secretmanager.versions.access", "secretmanager.versions.add"),
    "azure": ("Microsoft.KeyVault/vaults/secrets/getSecret/action",
              "Microsoft.KeyVault/vaults/secrets/setSecret/action"),
    "local": ("filesystem:read", "filesystem:write"),
}


@pytest.fixture
def canary() -> str:
    return f"canary-{secrets.token_hex(12)}"


@pytest.fixture
def secrets_project(project, canary):  # type: ignore[no-untyped-def]
    """The infra tests' project with a secrets program beside its storage program."""
    project.write("src/secrets_app.py", SECRETS_APP.replace("{canary}", canary))
    return project


def _generate(provider: str, root: Path) -> dict[str, bytes]:
    target = resolve_target(load_project_config(), environment="dev", provider=provider)
    result = generate_paths([root / "src"], target=target)
    assert result.ok, result.diagnostics
    return result.files


def _module(provider: str) -> str:
    return f"modules/{load_plugin(provider).service_for('secrets').module_name}/main.tf"


def _secret_entries(main_tf: str) -> dict[str, list[str]]:
    """Logical name -> permissions, from the secrets map of the root module."""
    block = re.search(r'module "secrets" \{\n(.*?)\n\}', main_tf, re.DOTALL)
    assert block is not None, main_tf
    entries = re.findall(r'\n    ([a-z-]+|"[a-z-]+") = \{\n\s+name\s+= "([^"]+)"\n\s+'
                         r'permissions = (\[.*?\])', block.group(1))
    return {logical.strip('"'): json.loads(permissions) for logical, _, permissions in entries}


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_each_secret_is_a_resource_with_the_permissions_of_its_operations(
        secrets_project, canary, provider) -> None:
    files = _generate(provider, secrets_project.root)
    assert _module(provider) in files
    main_tf = files["main.tf"].decode()
    get, put = GRANTED[provider]
    assert _secret_entries(main_tf) == {"api-token": sorted([get, put]), "db-password": [get]}
    assert '"photo-app-dev-api-token"' in main_tf and '"photo-app-dev-db-password"' in main_tf
    rules = load_rules(provider, "secrets").operations
    assert rules["get_secret"].permissions == (get,) and rules["set_secret"].permissions == (put,)
    everything = b"".join(files.values()).decode()
    assert canary not in everything


@pytest.mark.parametrize("provider", CLOUDS)
def test_a_get_only_program_gets_no_write_right(project, provider) -> None:
    project.write("src/app.py", READ_ONLY_APP)
    files = _generate(provider, project.root)
    main_tf = files["main.tf"].decode()
    get, put = GRANTED[provider]
    assert _secret_entries(main_tf) == {"db-password": [get]}
    assert put not in main_tf
    if provider == "aws":
        assert 'permissions = ["secretsmanager:GetSecretValue"]' in main_tf
        assert "PutSecretValue" not in main_tf


def test_the_aws_module_derives_kms_rights_from_the_secret_actions() -> None:
    module = (Path(load_plugin("aws").service_for("secrets").module_dir) / "main.tf").read_text()
    assert 'contains(local.permissions, "secretsmanager:GetSecretValue") ? ["kms:Decrypt"]' \
        in module
    assert '"secretsmanager:PutSecretValue") ? ["kms:Decrypt", "kms:GenerateDataKey"]' in module
    assert 'variable = "kms:ViaService"' in module
    assert "aws_secretsmanager_secret_version" not in module


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_no_module_makes_a_secret_value(provider) -> None:
    module = (load_plugin(provider).service_for("secrets").module_dir / "main.tf").read_text()
    for resource in ("aws_secretsmanager_secret_version", "google_secret_manager_secret_version",
                     "azurerm_key_vault_secret", "secret_string", "secret_data", "value_wo"):
        assert resource not in module, (provider, resource)


@pytest.mark.parametrize(("provider", "needles"), [
    ("aws", ["kms_key_id              = aws_kms_key.this.arn", "enable_key_rotation     = true",
             "block_public_policy = true", 'variable = "aws:PrincipalAccount"']),
    ("gcp", ['dynamic "auto"', 'dynamic "user_managed"', "customer_managed_encryption",
             "google_secret_manager_secret_iam_member"]),
    ("azure", ["enable_rbac_authorization     = true", "purge_protection_enabled      = true",
               "soft_delete_retention_days    = var.soft_delete_days",
               "scope              = azurerm_key_vault.this.id"]),
])
def test_secure_defaults(secrets_project, provider, needles) -> None:
    module = _generate(provider, secrets_project.root)[_module(provider)].decode()
    for needle in needles:
        assert needle in module, needle


def test_a_literal_name_no_provider_accepts_is_refused(project, run) -> None:
    project.write("src/app.py",
                  'from infrar.secrets import get_secret\nget_secret("Db_Password")\n')
    result = run("generate", "-e", "dev", "-p", "aws", "--out", "tf")
    assert result.exit_code != 0
    assert "secret name 'Db_Password'" in result.output
    assert "1 to 127 lowercase letters, digits and hyphens" in result.output


def test_output_passes_terraform_fmt_check(secrets_project, run, packaged_terraform) -> None:
    secrets_project.write("src/dynamic.py", 'import os\nfrom infrar.secrets import get_secret\n'
                                            'get_secret(os.environ["NAME"])\n')
    for provider in ALL_PROVIDERS:
        result = run("generate", "-e", "dev", "-p", provider, "--out", f"tf/{provider}")
        assert result.exit_code == 0, result.output
    checked = subprocess.run(
        [str(packaged_terraform), "fmt", "-check", "-recursive", "-diff", "tf"],
        capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_local_plan_apply_and_run_never_show_the_value(secrets_project, run, terraform, canary,
                                                       monkeypatch) -> None:
    """Plan and apply on local make one private folder per secret; the transformed program
    then stores and reads its secrets there. The canary the code writes is in no plan (text or
    JSON), no generated file, no diagnostic and no output; only in the version file."""
    secrets_project.write("src/dynamic.py", 'import os\nfrom infrar.secrets import get_secret\n'
                                            'get_secret(os.environ["NAME"])\n')
    monkeypatch.setenv("TF_VAR_name_src_dynamic_py_3_1", "from-env")
    outputs = []
    transformed = run("transform", "-e", "dev", "--out", "build", "src")
    assert transformed.exit_code == 0, transformed.output
    outputs.append(transformed.output)
    planned = run("plan", "-e", "dev", "--json")
    assert planned.exit_code == 0, planned.output
    outputs.append(planned.output)
    report = json.loads(planned.stdout)
    actions = {r["address"]: r["action"] for r in report["resources"]}
    assert actions['module.secrets.null_resource.secret["api-token"]'] == "create"
    assert actions['module.secrets.null_resource.secret["db-password"]'] == "create"
    assert [d["code"] for d in report["diagnostics"]] == ["dynamic-name"]
    planned = run("plan", "-e", "dev")
    assert planned.exit_code == 0, planned.output
    outputs.append(planned.output)
    assert "Plan: 6 to add, 0 to change, 0 to destroy." in planned.output
    applied = run("apply", "-e", "dev")
    assert applied.exit_code == 0, applied.output
    outputs.append(applied.output)

    folders = secrets_project.root / "buckets" / ".infrar-secrets"
    assert sorted(p.name for p in folders.iterdir()) == [
        "from-env", "photo-app-dev-api-token", "photo-app-dev-db-password"]
    assert {p.stat().st_mode & 0o777 for p in folders.iterdir()} == {0o700}
    assert not list(folders.rglob("*/*")), "Terraform must make no value"

    # The database password is set outside the program (as an operator would).
    (folders / "photo-app-dev-db-password" / "1").write_text("s3cret-password")
    env = {**environment_without("INFRAR_ENVIRONMENT", "INFRAR_PROVIDER"),
           "PYTHONPATH": str(write_blocker(secrets_project.root.parent / "blocker"))}
    ran = subprocess.run([sys.executable, "build/local/secrets_app.py"], env=env,
                         capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "(15, True)\n"
    outputs += [ran.stdout, ran.stderr]
    stored = folders / "photo-app-dev-api-token" / "1"
    assert stored.read_text() == canary and stored.stat().st_mode & 0o777 == 0o600

    workdir = default_workdir(secrets_project.root, "dev")
    generated = [p for p in workdir.rglob("*") if p.is_file() and ".terraform" not in p.parts]
    assert {"main.tf", "terraform.tfvars", "terraform.tfstate"} <= {p.name for p in generated}
    for path in generated:
        assert canary.encode() not in path.read_bytes(), path
        if zipfile.is_zipfile(path):  # a saved plan: its configuration and changes
            with zipfile.ZipFile(path) as plan:
                for member in plan.namelist():
                    assert canary.encode() not in plan.read(member), (path, member)
    for text in outputs:
        assert canary not in text
    native = secrets_project.root / "build" / "local" / "infrar_native"
    assert canary not in "".join(p.read_text() for p in native.glob("*.py"))


def test_generated_secrets_terraform_scans_clean(secrets_project, run) -> None:
    from test_infra_checkov import _checkov

    command = _checkov()
    secrets_project.write("src/app.py", "")  # secrets only: the storage scan is its own test
    for provider in CLOUDS:
        result = run("generate", "-e", "dev", "-p", provider, "--out", f"tf/{provider}")
        assert result.exit_code == 0, result.output
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    scanned = subprocess.run(
        [*command, "-d", "tf", "--framework", "terraform", "--skip-download", "--compact",
         "-o", "json"],
        capture_output=True, text=True, env=env, check=False, timeout=300)
    report = json.loads(scanned.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and report["summary"]["failed"] == 0, failed
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 20
    declared = {(s.id, s.reason) for p in CLOUDS
                for s in load_plugin(p).service_for("secrets").checkov_skips}
    skipped = {(c["check_id"], c["check_result"]["suppress_comment"])
               for c in report["results"]["skipped_checks"]}
    assert skipped == declared
