"""The kv capability's rules and Terraform: real least-privilege permissions per operation, a
read-only program with no write right on any provider, secure defaults, one naming rule
everywhere, checkov and `terraform fmt` clean, and on `local` the whole path run for real:
transform, generate, plan, apply, plan again, run the program."""

from __future__ import annotations

import ast
import json
import linecache
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import ALL_PROVIDERS, CLOUDS, PROVIDERS_DIR, environment_without, write_blocker

from infrar.engine.capabilities import load_capability
from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.generate import generate_paths
from infrar.engine.plugins import load_rules
from infrar.engine.runtime import build_runtime

PERMISSION = {
    "aws": re.compile(r"dynamodb:(GetItem|PutItem|DeleteItem|Scan)"),
    "gcp": re.compile(r"datastore\.entities\.(get|list|create|update|delete)"),
    "azure": re.compile(r"Microsoft\.Storage/storageAccounts/tableServices/tables/entities/"
                        r"(read|write|delete|add/action|update/action)"),
}
MUTATING = {
    "local": {"filesystem:write", "filesystem:delete"},
    "aws": {"dynamodb:PutItem", "dynamodb:DeleteItem"},
    "gcp": {"datastore.entities.create", "datastore.entities.update", "datastore.entities.delete"},
    "azure": {f"Microsoft.Storage/storageAccounts/tableServices/tables/entities/{action}"
              for action in ("write", "delete", "add/action", "update/action")},
}
READ_ONLY = ("get", "scan")
REQUIREMENT = {"aws": "boto3", "gcp": "google-cloud-firestore", "azure": "azure-data-tables"}

APP = '''\
"""Sessions in a table, carts in another; the audit table is only read."""
from infrar.kv import delete, get, put, scan


def main():
    put("sessions", "user/1", {"cart": "carts/1"})
    put("carts", "carts/1", {"items": [{"sku": "A-1", "count": 2}]})
    session = get("sessions", "user/1")
    delete("sessions", "user/1")
    audit = [get("audit", key) for key in scan("audit", prefix="2024/")]
    return session, get("carts", session["cart"]), scan("carts"), audit


if __name__ == "__main__":
    print(main())
'''
READER = '''\
from infrar.kv import get, scan

print([get("audit", key) for key in scan("audit")])
'''


def _generate(provider: str, project, environment: str = "dev") -> dict[str, bytes]:
    target = resolve_target(load_project_config(), environment=environment, provider=provider)
    result = generate_paths([project.src], target=target)
    assert result.ok, result.diagnostics
    return result.files


def _tables(main_tf: str) -> dict[str, tuple[str, list[str]]]:
    """Logical name -> physical name and permissions, from the root module's kv block."""
    module = main_tf[main_tf.index('module "kv" {'):]
    found = re.findall(r'\n    ([a-z-]+) = \{\n      name        = "([^"]+)"\n'
                       r"      permissions = (\[.*?\])\n", module)
    return {logical: (name, json.loads(listed)) for logical, name, listed in found}


@pytest.mark.parametrize("provider", CLOUDS)
def test_rules_cover_the_sdk_with_real_permissions(provider: str) -> None:
    rules = load_rules(provider, "kv")
    assert set(rules.operations) == set(load_capability("kv").functions)
    assert [r.split(">=")[0] for r in rules.requirements] == [REQUIREMENT[provider]]
    for name, operation in rules.operations.items():
        assert operation.permissions, name
        for permission in operation.permissions:
            assert PERMISSION[provider].fullmatch(permission), (name, permission)
        if name in READ_ONLY:
            assert not MUTATING[provider] & set(operation.permissions), name
        else:
            assert MUTATING[provider] & set(operation.permissions), name


@pytest.mark.parametrize("provider", CLOUDS)
def test_runtime_maps_native_errors_from_the_rules_data(provider: str) -> None:
    rules = load_rules(provider, "kv")
    build_runtime("kv", provider)
    source = "".join(linecache.getlines(f"<infrar native code: {provider} kv>"))
    mapped = {key.value: value.id for node in ast.walk(ast.parse(source))
              if isinstance(node, ast.Dict)
              for key, value in zip(node.keys, node.values, strict=True)
              if isinstance(key, ast.Constant) and isinstance(value, ast.Name)}
    for native, sdk_error in rules.errors.items():
        assert mapped.get(str(native)) == sdk_error, native
    assert "TableNotFoundError" in set(rules.errors.values())


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_each_table_gets_exactly_the_permissions_of_its_operations(project, provider) -> None:
    project.write("src/app.py", APP)
    rules = load_rules(provider, "kv").operations
    expected = {"sessions": {"put", "get", "delete"}, "carts": {"put", "get", "scan"},
                "audit": {"get", "scan"}}
    tables = _tables(_generate(provider, project)["main.tf"].decode())
    assert sorted(tables) == sorted(expected)
    for logical, operations in expected.items():
        name, listed = tables[logical]
        assert name == f"photo-app-dev-{logical}"
        assert listed == sorted({p for op in operations for p in rules[op].permissions}), logical
    assert not MUTATING[provider] & set(tables["audit"][1])


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_a_read_only_program_gets_no_write_right(project, provider) -> None:
    project.write("src/app.py", READER)
    files = _generate(provider, project)
    tables = _tables(files["main.tf"].decode())
    assert list(tables) == ["audit"]
    granted = set(tables["audit"][1])
    assert granted and not MUTATING[provider] & granted
    reads = {p for op in READ_ONLY for p in load_rules(provider, "kv").operations[op].permissions}
    assert granted == reads


def test_the_aws_policy_grants_kms_writes_only_with_puts() -> None:
    """The table actions come from the code; the KMS actions follow from them in the module."""
    module = (PROVIDERS_DIR / "aws/services/kv/dynamodb/terraform/main.tf").read_text()
    assert 'contains(local.permissions, "dynamodb:PutItem") ? ["kms:Encrypt", ' \
           '"kms:GenerateDataKey"] : []' in module
    assert 'variable = "kms:ViaService"' in module
    assert "resources = [aws_dynamodb_table.this[statement.key].arn]" in module


@pytest.mark.parametrize(("provider", "needles"), [
    ("aws", ['billing_mode                = "PAY_PER_REQUEST"',
             'hash_key                    = "key"',
             "kms_key_arn = aws_kms_key.this.arn", "enable_key_rotation     = true",
             "point_in_time_recovery {\n    enabled = true",
             "deletion_protection_enabled = var.deletion_protection"]),
    ("gcp", ['type                              = "FIRESTORE_NATIVE"',
             '"POINT_IN_TIME_RECOVERY_ENABLED"', '"DELETE_PROTECTION_ENABLED"',
             'collection  = "infrar_tables"', "index_config {}",
             'expression  = "resource.name == \\"projects/']),
    ("azure", ['min_tls_version                   = "TLS1_2"',
               "shared_access_key_enabled         = false",
               "infrastructure_encryption_enabled = true",
               '"Microsoft.Storage/storageAccounts/tableServices/tables"',
               '/tableServices/default/tables/${local.names[each.value.table]}"',
               'replace(table.name, "-", "")']),
])
def test_secure_defaults(project, provider, needles) -> None:
    project.write("src/app.py", APP)
    files = _generate(provider, project)
    module = next(v.decode() for k, v in files.items() if k.startswith("modules/kv-"))
    for needle in needles:
        assert needle in module, needle


def test_one_naming_rule_on_every_provider() -> None:
    rules = {p: load_plugin(p).service_for("kv").resources["table"].naming for p in ALL_PROVIDERS}
    assert len({(r.pattern, r.min_length, r.max_length) for r in rules.values()}) == 1


@pytest.mark.parametrize("name", ["Sessions", "my_table", "ab", "a--b", "9lives", "end-", "a.b"])
@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_names_no_provider_could_hold_are_refused(project, run, provider, name) -> None:
    (project.root / ".infrar.yaml").write_text('version: 1\nprovider: local\nnaming: "{name}"\n')
    project.write("src/app.py", f'from infrar.kv import get\nget("{name}", "k")\n')
    result = run("generate", "-p", provider, "--out", "tf")
    assert result.exit_code != 0
    assert f"table name {name!r}" in result.output and "src/app.py:2:" in result.output
    assert not (project.root / "tf").exists()


def test_output_passes_terraform_fmt_check(project, run, packaged_terraform) -> None:
    project.write("src/app.py", APP)
    for provider in ALL_PROVIDERS:
        result = run("generate", "-e", "dev", "-p", provider, "--out", f"tf/{provider}")
        assert result.exit_code == 0, result.output
    checked = subprocess.run(
        [str(packaged_terraform), "fmt", "-check", "-recursive", "-diff", "tf"],
        capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _checkov() -> list[str]:
    # As in test_infra_checkov: checkov lives in a virtual environment of its own.
    repository = Path(__file__).resolve().parents[2]
    candidates = [os.environ.get("INFRAR_CHECKOV", ""),
                  str(repository / ".venv-checkov" / "bin" / "checkov")]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        pytest.skip("checkov is not installed (make install-test)")
    return [found]


def test_generated_terraform_scans_clean(project, run) -> None:
    command = _checkov()
    project.write("src/app.py", APP)
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
                for s in load_plugin(p).service_for("kv").checkov_skips}
    skipped = {(c["check_id"], c["check_result"]["suppress_comment"])
               for c in report["results"]["skipped_checks"]}
    assert skipped == declared


def test_transform_generate_plan_apply_replan_and_run(project, run, terraform) -> None:
    project.write("src/app.py", APP)
    transformed = run("transform", "-e", "dev", "--out", "build", "src")
    assert transformed.exit_code == 0, transformed.output
    code = (project.root / "build" / "local" / "app.py").read_text()
    assert "from infrar_native.kv import" in code and "infrar.kv" not in code

    planned = run("plan", "-e", "dev")
    assert planned.exit_code == 0, planned.output
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in planned.output
    applied = run("apply", "-e", "dev")
    assert applied.exit_code == 0, applied.output
    tables = project.root / "buckets" / ".infrar-kv"
    assert sorted(p.name for p in tables.iterdir()) == [
        "photo-app-dev-audit", "photo-app-dev-carts", "photo-app-dev-sessions"]
    again = run("plan", "-e", "dev")
    assert again.exit_code == 0 and again.output.startswith("No changes."), again.output

    # The applied folders are the tables of the transformed program, run without the SDK.
    (tables / "photo-app-dev-audit" / "2024%2F01").write_text(
        '{"key":"2024/01","value":{"entries":3}}', encoding="utf-8")
    env = {**environment_without("INFRAR_ENVIRONMENT", "INFRAR_PROVIDER"),
           "PYTHONPATH": str(write_blocker(project.root.parent / "blocker"))}
    ran = subprocess.run([sys.executable, "build/local/app.py"], env=env, capture_output=True,
                         text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == ("({'cart': 'carts/1'}, {'items': [{'sku': 'A-1', 'count': 2}]}, "
                          "['carts/1'], [{'entries': 3}])\n")
    assert sorted(p.name for p in (tables / "photo-app-dev-carts").iterdir()) == ["carts%2F1"]
    assert not list((tables / "photo-app-dev-sessions").iterdir())
