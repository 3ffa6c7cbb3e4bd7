"""Services on every cloud: each service of a project gets its own identity holding exactly what
its own code does, and the compute that runs it. An upload API that never deletes gets no
delete right; the nightly job that deletes gets it. Nothing is public unless an http service
says `public: true`. The Terraform is `terraform fmt` and checkov clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest
from infra_support import CLOUDS, copy_provider

from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.diagnostics import EngineError
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.compute import rights_markdown, schedule_expression
from infrar.engine.infra.generate import Generation, generate_paths
from infrar.engine.plugins import load_rules

CONFIG = """\
version: 1
project: photos
services:
  api:
    kind: http
    entry: photos.web:app
    health: /healthz{public}
  nightly:
    kind: schedule
    command: [python, -m, photos.jobs.prune]
    schedule: "30 2 * * *"
"""
FILES = {
    "photos/__init__.py": "",
    "photos/web.py": ("from infrar import storage\n\n\n"
                      "def app(environ, start_response):\n"
                      "    storage.write('uploads', 'photo.jpg', environ['wsgi.input'].read())\n"
                      "    start_response('200 OK', [])\n"
                      "    return [storage.read('uploads', 'photo.jpg')]\n"),
    "photos/jobs/__init__.py": "",
    "photos/jobs/prune.py": ("from infrar import storage\n\n"
                             "for key in storage.list_objects('uploads'):\n"
                             "    storage.delete('uploads', key)\n"),
}
API_OPERATIONS = ("read", "write")
JOB_OPERATIONS = ("delete", "list_objects")
IDENTITY = {"aws": "aws_iam_role", "gcp": "google_service_account",
            "azure": "azurerm_user_assigned_identity"}
DIGEST = "sha256:" + "ab" * 32


def _write(project, *, public: bool = False) -> None:
    project.write(".infrar.yaml", CONFIG.format(public="\n    public: true" if public else ""))
    for relative, text in FILES.items():
        project.write(relative, text)


def _generate(project, provider: str, *, public: bool = False) -> Generation:
    _write(project, public=public)
    target = resolve_target(load_project_config(), provider=provider)
    result = generate_paths([project.root], target=target)
    assert result.ok, result.diagnostics
    return result


def _plain(value: Any) -> Any:
    """python-hcl2's output without its quotes around labels, keys and strings."""
    if isinstance(value, dict):
        return {_unquote(k): _plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _unquote(value) if isinstance(value, str) else value


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _hcl(data: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = _plain(hcl2.loads(data.decode()))
    return parsed


def _main(result: Generation) -> dict[str, Any]:
    parsed = _hcl(result.files["main.tf"])
    return {name: body for module in parsed["module"] for name, body in module.items()}


def _permissions(provider: str, operations: tuple[str, ...]) -> set[str]:
    rules = load_rules(provider, "storage").operations
    return {p for op in operations for p in rules[op].permissions}


def _write_out(result: Generation, out: Path) -> Path:
    for name, data in result.files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return out


@pytest.mark.parametrize("provider", CLOUDS)
def test_each_service_is_granted_what_its_own_code_does(project, provider) -> None:
    result = _generate(project, provider)
    grants = _main(result)["storage"]["service_grants"]
    principal = load_plugin(provider).compute.principal
    assert set(grants) == {"api", "nightly"}
    for name in grants:
        assert grants[name]["principal"] == f'${{module.compute.{principal}["{name}"]}}'
    api = set(grants["api"]["resources"]["uploads"])
    job = set(grants["nightly"]["resources"]["uploads"])
    assert api == _permissions(provider, API_OPERATIONS)
    assert job == _permissions(provider, JOB_OPERATIONS)
    assert api != job
    # The engine's view, which the review table shows, says the same.
    assert {r.key: set(r.operations) for r in result.services["api"].inventory.resources} == \
        {"uploads": set(API_OPERATIONS)}


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_the_upload_api_cannot_delete_and_the_job_can(project, provider) -> None:
    grants = _main(_generate(project, provider))["storage"]["service_grants"]
    delete = _permissions(provider, ("delete",)) - _permissions(provider, ("list_objects",))
    assert delete and not delete & set(grants["api"]["resources"]["uploads"])
    assert delete <= set(grants["nightly"]["resources"]["uploads"])


def test_on_gcp_an_overwriting_upload_needs_the_delete_permission(project) -> None:
    """Cloud Storage asks for storage.objects.delete to overwrite an object, so a service that
    writes holds it on that bucket (and only there); a service that only reads does not."""
    grants = _main(_generate(project, "gcp"))["storage"]["service_grants"]
    assert "storage.objects.delete" in _permissions("gcp", ("write",))
    assert "storage.objects.delete" not in _permissions("gcp", ("read",))
    assert set(grants["api"]["resources"]) == {"uploads"}


@pytest.mark.parametrize("provider", CLOUDS)
def test_every_service_has_an_identity_of_its_own(project, provider) -> None:
    result = _generate(project, provider)
    module = _hcl(result.files["modules/compute/main.tf"])
    identities = [body for entry in module["resource"] for kind, named in entry.items()
                  if kind == IDENTITY[provider] for name, body in named.items()
                  if name == "service"]
    assert [i["for_each"] for i in identities] == ["${var.services}"]
    # The capability module grants each service's principal, not a shared one.
    storage = _hcl(result.files[f"modules/storage-{_storage(provider)}/main.tf"])
    granted = [body for entry in storage["resource"] for named in entry.values()
               for name, body in named.items() if name.startswith("service")]
    assert granted and all("service" in str(body.get("for_each")) for body in granted)


def _storage(provider: str) -> str:
    return load_plugin(provider).service_for("storage").name


@pytest.mark.parametrize("provider", CLOUDS)
def test_only_an_http_service_that_says_public_is_public(project, provider) -> None:
    private = _main(_generate(project, provider))["compute"]["services"]
    assert private["api"]["public"] is False and private["nightly"]["public"] is False
    public = _main(_generate(project, provider, public=True))["compute"]["services"]
    assert public["api"]["public"] is True and public["nightly"]["public"] is False


def test_the_compute_modules_open_ingress_only_for_public_services() -> None:
    texts = {p: (load_plugin(p).compute.module_dir / "main.tf").read_text() for p in CLOUDS}
    assert "is_publicly_accessible = each.value.public" in texts["aws"]
    assert ('ingress  = each.value.public ? "INGRESS_TRAFFIC_ALL" : '
            '"INGRESS_TRAFFIC_INTERNAL_ONLY"') in texts["gcp"]
    assert texts["gcp"].count('"allUsers"') == 1
    assert "for_each = local.public\n" in texts["gcp"]
    assert "external_enabled           = ingress.value.public" in texts["azure"]
    assert "allow_insecure_connections = false" in texts["azure"]
    assert "admin_enabled                 = false" in texts["azure"]


@pytest.mark.parametrize("provider", CLOUDS)
def test_services_replace_the_hand_named_application_identities(project, provider) -> None:
    replaced = load_plugin(provider).compute.replaces
    with_services = _generate(project, provider)
    assert replaced not in with_services.files["variables.tf"].decode()
    assert replaced not in _main(with_services)["storage"]
    project.write(".infrar.yaml", "version: 1\nproject: photos\n")
    target = resolve_target(load_project_config(), provider=provider)
    without = generate_paths([project.root], target=target)
    assert f"var.{replaced}" in without.files["main.tf"].decode()
    assert "service_grants" not in without.files["main.tf"].decode()
    assert "modules/compute/main.tf" not in without.files


@pytest.mark.parametrize("provider", CLOUDS)
def test_each_service_runs_the_image_its_variable_names(project, provider) -> None:
    result = _generate(project, provider)
    services = _main(result)["compute"]["services"]
    assert services["api"]["image"] == "${var.api_image}"
    assert services["nightly"]["kind"] == "schedule"
    style = load_plugin(provider).compute.schedule_format
    assert services["nightly"]["schedule"] == schedule_expression("30 2 * * *", style)
    variables = result.files["variables.tf"].decode()
    assert 'variable "api_image"' in variables and 'variable "nightly_image"' in variables
    assert "@sha256:[0-9a-f]{64}$" in variables
    text = (load_plugin(provider).compute.module_dir / "main.tf").read_text()
    assert "INFRAR_ENVIRONMENT = var.environment" in text


def test_azure_services_learn_where_their_resources_are(project) -> None:
    result = _generate(project, "azure")
    assert _main(result)["compute"]["environment_variables"] == {
        "AZURE_STORAGE_ACCOUNT_URL": "${module.storage.account_url}"}
    text = (load_plugin("azure").compute.module_dir / "main.tf").read_text()
    assert "AZURE_CLIENT_ID = azurerm_user_assigned_identity.service[each.key].client_id" in text


def test_schedules_are_written_as_each_scheduler_reads_them() -> None:
    assert schedule_expression("30 2 * * *", "cron") == "30 2 * * *"
    assert schedule_expression("30 2 * * *", "aws") == "30 2 * * ? *"
    assert schedule_expression("0 6 1 * *", "aws") == "0 6 1 * ? *"
    # cron counts weekdays from Sunday 0, EventBridge from Sunday 1.
    assert schedule_expression("0 6 * * 1-5", "aws") == "0 6 ? * 2-6 *"
    assert schedule_expression("0 6 * * 0,6", "aws") == "0 6 ? * 1,7 *"
    assert schedule_expression("0 6 * * MON", "aws") == "0 6 ? * MON *"
    with pytest.raises(EngineError, match="both a day of the month and a day of the week"):
        schedule_expression("0 6 1 * 1", "aws")


def test_a_schedule_eventbridge_cannot_run_is_a_diagnostic_not_a_crash(project) -> None:
    _write(project)
    config = project.root / ".infrar.yaml"
    config.write_text(config.read_text().replace('"30 2 * * *"', '"0 6 1 * 1"'))
    target = resolve_target(load_project_config(), provider="aws")
    result = generate_paths([project.root], target=target)
    assert not result.ok and result.files == {}
    (problem,) = result.diagnostics
    assert problem.code == "services" and problem.message.startswith("services.nightly.schedule")
    gcp = generate_paths([project.root], target=resolve_target(load_project_config(),
                                                                provider="gcp"))
    assert gcp.ok  # Cloud Scheduler reads both fields


def test_the_local_provider_generates_no_compute(project) -> None:
    with_services = _generate(project, "local")
    assert "modules/compute/main.tf" not in with_services.files
    assert with_services.services == {}
    project.write(".infrar.yaml", "version: 1\nproject: photos\n")
    target = resolve_target(load_project_config(), provider="local")
    assert generate_paths([project.root], target=target).files == with_services.files


def test_a_cloud_module_without_service_grants_is_refused(tmp_path, monkeypatch) -> None:
    root = copy_provider("aws", tmp_path / "plugins")
    module = root / "services" / "storage" / "s3" / "terraform" / "main.tf"
    module.write_text(module.read_text().replace('variable "service_grants"',
                                                 'variable "service_grant"'))
    monkeypatch.setenv("INFRAR_PLUGIN_PATH", str(tmp_path / "plugins"))
    with pytest.raises(EngineError, match="has no variable 'service_grants'"):
        load_plugin("aws")


def test_generated_services_pass_terraform_fmt(project, packaged_terraform, tmp_path) -> None:
    for provider in CLOUDS:
        _write_out(_generate(project, provider, public=True), tmp_path / "tf" / provider)
    checked = subprocess.run(
        [str(packaged_terraform), "fmt", "-check", "-recursive", "-diff", str(tmp_path / "tf")],
        capture_output=True, text=True, check=False, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _checkov() -> str:
    repository = Path(__file__).resolve().parents[2]
    candidates = [os.environ.get("INFRAR_CHECKOV", ""),
                  str(repository / ".venv-checkov" / "bin" / "checkov"),
                  shutil.which("checkov", path=str(Path(sys.executable).parent)) or ""]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        pytest.skip("checkov is not installed (make install-test)")
    return found


def test_generated_services_scan_clean_with_checkov(project, tmp_path) -> None:
    """Deployed: with an image set for each service, so every compute resource exists."""
    checkov = _checkov()
    for provider in CLOUDS:
        out = _write_out(_generate(project, provider, public=True), tmp_path / "tf" / provider)
        with (out / "terraform.tfvars").open("a") as tfvars:
            tfvars.write(f'api_image     = "registry.example/photos/api@{DIGEST}"\n'
                         f'nightly_image = "registry.example/photos/nightly@{DIGEST}"\n')
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    scanned = subprocess.run(
        [checkov, "-d", str(tmp_path / "tf"), "--framework", "terraform", "--skip-download",
         "--compact", "-o", "json"],
        capture_output=True, text=True, env=env, check=False, timeout=300)
    report = json.loads(scanned.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and report["summary"]["parsing_errors"] == 0
    passed = {c["resource"] for c in report["results"]["passed_checks"]}
    assert any(r.startswith("module.compute.aws_ecr_repository") for r in passed)
    assert any(r.startswith("module.compute.aws_iam_role.service") for r in passed)
    plugins = [load_plugin(p) for p in CLOUDS]
    declared = {(s.id, s.reason) for plugin in plugins
                for s in (*plugin.service_for("storage").checkov_skips,
                          *(plugin.compute.checkov_skips if plugin.compute else ()))}
    skipped = {(c["check_id"], c["check_result"]["suppress_comment"])
               for c in report["results"]["skipped_checks"]}
    assert skipped == declared


def test_the_review_table_lists_what_each_service_is_granted(project) -> None:
    table = rights_markdown(_generate(project, "aws", public=True).services).splitlines()
    assert table[0] == "| Service | Runs as | Resource | Operations | Permissions |"
    assert table[2:] == [
        "| api | http, public | bucket `uploads` | read, write | "
        "`s3:GetObject`, `s3:ListBucket`, `s3:PutObject` |",
        "| nightly | schedule, `30 2 * * *` | bucket `uploads` | delete, list_objects | "
        "`s3:DeleteObject`, `s3:ListBucket` |",
    ]
