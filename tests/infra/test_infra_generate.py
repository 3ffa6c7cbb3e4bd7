"""Generated Terraform: deterministic, `terraform fmt` clean, least privilege, secure defaults."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from infra_support import ALL_PROVIDERS, CLOUDS

from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.generate import MANIFEST, generate_paths, write_generated
from infrar.engine.plugins import load_rules


def _generate(provider: str, project, environment: str = "dev") -> dict[str, bytes]:
    target = resolve_target(load_project_config(), environment=environment, provider=provider)
    result = generate_paths([project.src], target=target)
    assert result.ok, result.diagnostics
    return result.files


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_same_input_gives_the_same_bytes(project, run, provider) -> None:
    first = _generate(provider, project)
    assert _generate(provider, project) == first
    assert run("generate", "-e", "dev", "-p", provider, "--out", "a").exit_code == 0
    assert run("generate", "-e", "dev", "-p", provider, "--out", "b").exit_code == 0
    a, b = project.root / "a", project.root / "b"
    assert {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()} == \
        {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
    assert set(first) == {"backend.tf", "main.tf", "outputs.tf", "providers.tf",
                          "terraform.tfvars", "variables.tf",
                          f"modules/{load_plugin(provider).service_for('storage').module_name}/main.tf"}


def test_output_passes_terraform_fmt_check(project, run, packaged_terraform) -> None:
    project.write("src/dynamic.py",
                  'import os\nfrom infrar.storage import read\nread(os.environ["B"], "k")\n')
    for provider in ALL_PROVIDERS:
        result = run("generate", "-e", "dev", "-p", provider, "--out", f"tf/{provider}")
        assert result.exit_code == 0
    checked = subprocess.run(
        [str(packaged_terraform), "fmt", "-check", "-recursive", "-diff", "tf"],
        capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_permissions_are_exactly_those_of_the_operations_used(project, provider) -> None:
    rules = load_rules(provider, "storage").operations
    expected = {
        "uploads": {"write", "read", "exists", "get_metadata", "copy", "generate_signed_url"},
        "reports": {"upload", "download", "list_objects"},
        "archive": {"copy", "delete"},
    }
    main_tf = _generate(provider, project)["main.tf"].decode()
    for logical, operations in expected.items():
        wanted = sorted({p for op in operations for p in rules[op].permissions})
        block = re.search(rf"\n    {logical} = {{\n(.*?)\n    }}", main_tf, re.DOTALL).group(1)
        listed = json.loads(re.search(r"permissions = (\[.*\])", block).group(1))
        assert listed == wanted, (logical, listed)


def test_a_read_only_program_gets_read_only_permissions(project) -> None:
    project.write("src/app.py", 'from infrar.storage import read\nread("assets", "logo.png")\n')
    main_tf = _generate("aws", project)["main.tf"].decode()
    assert 'permissions = ["s3:GetObject", "s3:ListBucket"]' in main_tf
    assert "PutObject" not in main_tf and "DeleteObject" not in main_tf


@pytest.mark.parametrize(("provider", "needles"), [
    ("aws", ["aws:kms", "enable_key_rotation     = true", "block_public_acls       = true",
             "restrict_public_buckets = true", "BucketOwnerEnforced", "aws:SecureTransport",
             'status = var.versioning ? "Enabled" : "Suspended"']),
    ("gcp", ["uniform_bucket_level_access = true", 'public_access_prevention    = "enforced"',
             "enabled = var.versioning"]),
    ("azure", ['min_tls_version                   = "TLS1_2"',
               "https_traffic_only_enabled        = true",
               "allow_nested_items_to_be_public   = false",
               "shared_access_key_enabled         = false",
               "infrastructure_encryption_enabled = true", 'container_access_type = "private"',
               "versioning_enabled = var.versioning"]),
])
def test_secure_defaults(project, provider, needles) -> None:
    files = _generate(provider, project)
    module = next(v.decode() for k, v in files.items() if k.startswith("modules/"))
    for needle in needles:
        assert needle in module, needle
    assert "storage_versioning" in files["terraform.tfvars"].decode()
    assert re.search(r"storage_versioning\s+= true", files["terraform.tfvars"].decode())


def test_terraform_vars_come_from_provider_defaults_and_the_run(project) -> None:
    tfvars = _generate("aws", project, environment="production")["terraform.tfvars"].decode()
    assert 'region                           = "eu-west-1"' in tfvars
    assert 'project                          = "photo-app"' in tfvars
    assert 'environment                      = "production"' in tfvars
    assert '"managed-by" = "infrar"' in tfvars
    variables = _generate("aws", project)["variables.tf"].decode()
    assert 'variable "storage_noncurrent_version_days" {' in variables


def test_dynamic_name_becomes_a_validated_variable_with_a_warning(project, run) -> None:
    project.write("src/dynamic.py",
                  'import os\nfrom infrar.storage import read\nread(os.environ["B"], "k")\n')
    result = run("generate", "-e", "dev", "-p", "gcp", "--out", "tf")
    assert result.exit_code == 0
    assert "src/dynamic.py:3:1: warning: the bucket name is not a literal" in result.output
    assert "variable 'bucket_src_dynamic_py_3_1'" in result.output
    tf = project.root / "tf"
    assert "name        = var.bucket_src_dynamic_py_3_1" in (tf / "main.tf").read_text()
    variables = (tf / "variables.tf").read_text()
    assert 'variable "bucket_src_dynamic_py_3_1" {' in variables
    assert "can(regex(" in variables and "length(var.bucket_src_dynamic_py_3_1) <= 63" in variables
    assert '# bucket_src_dynamic_py_3_1 = ""' in (tf / "terraform.tfvars").read_text()


def test_regenerating_removes_what_is_no_longer_generated(tmp_path) -> None:
    out = tmp_path / "tf"
    write_generated(out, {"main.tf": b"a\n", "modules/x/main.tf": b"b\n"})
    (out / "mine.tf").write_text("kept\n")
    removed = write_generated(out, {"main.tf": b"c\n"})
    assert removed == ["modules/x/main.tf"]
    assert (out / "main.tf").read_bytes() == b"c\n" and (out / "mine.tf").exists()
    (out / MANIFEST).write_text(json.dumps({"files": ["../outside.txt", "/etc/passwd"]}))
    (tmp_path / "outside.txt").write_text("safe\n")
    write_generated(out, {"main.tf": b"d\n"})
    assert (tmp_path / "outside.txt").exists()


def test_nothing_is_written_on_error(project, run) -> None:
    project.write("src/app.py", 'from infrar.storage import read\nread("Bad", "k")\n')
    assert run("generate", "-e", "dev", "--out", "tf").exit_code == 2
    assert not (project.root / "tf").exists()


@pytest.mark.parametrize("provider", CLOUDS)
def test_backend_is_remote_when_configured(project, provider) -> None:
    project.write(".infrar.yaml", "version: 1\nproject: shop\nbackend:\n  type: remote\n")
    backend = _generate(provider, project, environment="default")["backend.tf"].decode()
    assert 'backend "local"' not in backend
    assert "shop-default-tfstate" in backend or "shopdefaulttfstate" in backend


def test_generated_files_say_they_are_generated(project, monkeypatch) -> None:
    monkeypatch.delenv("INFRAR_LOCAL_ROOT")
    files = _generate("local", project)
    for name in ("main.tf", "providers.tf", "backend.tf", "variables.tf", "outputs.tf",
                 "terraform.tfvars"):
        assert files[name].startswith(b"# Generated by infrar (local provider, dev environment)")
    # No path of this machine: the local root stays relative to the project.
    assert not any(str(project.root) in v.decode() for v in files.values())
    assert b'local_root  = ".infrar/local"' in files["terraform.tfvars"]
