"""A provider written as data only, in a folder of its own: detect, transform, generate and
plan with it, and no line of Python changes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from infra_support import PROVIDERS_DIR, native_names

from infrar.engine.infra.catalog import load_plugin, validate_plugin_dir


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def write_acme(root: Path) -> Path:
    """`acme`: its buckets are folders under ACME_ROOT, tracked by the null provider."""
    acme = root / "acme"
    local_rules = PROVIDERS_DIR / "local/services/storage/filesystem/transform/rules.yaml"
    rules = local_rules.read_text().replace("service: filesystem", "service: lockers")
    _write(acme, {
        "provider.yaml": """
            name: acme
            display_name: ACME Lockers
            description: Buckets are lockers.
            terraform:
              required_version: ">= 1.0"
              required_providers:
                "null": {source: hashicorp/null, version: "2.1.2"}
            authentication: {default: badge}
            """,
        "regions.yaml": """
            default: hq
            regions: [{id: hq, name: Headquarters}, {id: annex, name: Annex}]
            """,
        "provider-defaults.yaml": """
            variables:
              region: {type: string, description: Site., value: hq, from: region}
              owner: {type: string, description: Who owns the lockers., value: ops}
            """,
        "pricing-metadata.yaml": """
            currency: EUR
            as_of: "2025-02"
            resources:
              null_resource: {monthly: 3.5, notes: per locker}
            """,
        "authentication/badge/method.yaml": """
            name: badge
            display_name: Badge
            description: A badge number.
            kind: static
            """,
        "authentication/badge/schema.yaml": """
            type: object
            required: [badge]
            properties:
              badge: {type: string, description: a badge, pattern: '^[0-9]{6}$',
                      x-env: ACME_BADGE, x-secret: true}
            """,
        "authentication/badge/handler.yaml": """
            environment: {ACME_BADGE: "{{ badge }}"}
            """,
        "authentication/badge/ui-instructions.yaml": """
            title: Badge in
            summary: Use your badge.
            steps: [{title: Find it, body: It is on your desk.}]
            """,
        "services/storage/lockers/service.yaml": """
            capability: storage
            service: lockers
            display_name: Lockers
            description: One locker per bucket.
            resources:
              bucket:
                input: lockers
                naming: {pattern: '^[a-z][a-z0-9-]*$', min_length: 2, max_length: 40,
                         description: lowercase}
            inputs: {owner: owner}
            outputs: {lockers: Locker ids.}
            """,
        "services/storage/lockers/defaults.yaml": """
            inputs:
              size: {type: string, description: Locker size., value: large}
            """,
        "services/storage/lockers/terraform/main.tf": """
            variable "lockers" {
              type = map(object({
                name        = string
                permissions = list(string)
              }))
            }

            variable "owner" {
              type = string
            }

            variable "size" {
              type = string
            }

            resource "null_resource" "locker" {
              for_each = var.lockers

              triggers = {
                name  = each.value.name
                owner = var.owner
                size  = var.size
              }
            }

            output "lockers" {
              value = { for key, locker in null_resource.locker : key => locker.id }
            }
            """,
        "services/storage/lockers/transform/rules.yaml": rules,
        "terraform-config/provider-block.tf.tmpl": """
            terraform {
              required_version = {{ provider.terraform.required_version | hcl }}
            }
            """,
        "terraform-config/backend.tf.tmpl": """
            terraform {
              backend "local" {
                path = "acme.tfstate"
              }
            }
            """,
        "terraform-config/variables.tf.tmpl":
            (PROVIDERS_DIR / "local/terraform-config/variables.tf.tmpl").read_text(),
        "orchestration/bootstrap-script.sh.tmpl": """
            #!/bin/sh
            echo "open the {{ region }} site for {{ values.owner | sh }}"
            """,
    })
    return acme


@pytest.fixture
def acme(project, tmp_path, monkeypatch) -> Path:
    plugins = tmp_path / "plugins"
    root = write_acme(plugins)
    monkeypatch.setenv("INFRAR_PLUGIN_PATH", str(plugins))
    return root


def test_a_new_provider_needs_no_code(acme, project, run, terraform) -> None:
    assert validate_plugin_dir(acme) == []
    listed = run("providers", "list")
    assert "acme" in listed.output and "storage/lockers" in listed.output

    detected = run("detect", "src")
    assert detected.exit_code == 0 and "storage.write bucket=uploads" in detected.output

    transformed = run("transform", "-p", "acme", "-e", "dev", "--out", "build", "src")
    assert transformed.exit_code == 0, transformed.output
    assert "from infrar_native.storage import" in (project.root / "build/acme/app.py").read_text()
    assert native_names(project.root / "build/acme")["dev"]["bucket"]["uploads"] == \
        "photo-app-dev-uploads"

    generated = run("generate", "-p", "acme", "-e", "dev", "--region", "annex", "--out", "tf")
    assert generated.exit_code == 0, generated.output
    main_tf = (project.root / "tf/main.tf").read_text()
    assert 'source = "./modules/storage-lockers"' in main_tf and "lockers = {" in main_tf
    assert "owner = var.owner" in main_tf and "size  = var.storage_size" in main_tf
    assert 'region       = "annex"' in (project.root / "tf/terraform.tfvars").read_text()

    planned = run("plan", "-p", "acme", "-e", "dev")
    assert planned.exit_code == 0, planned.output
    assert "Plan: 3 to add" in planned.output
    assert "Estimated monthly cost: 10.50 EUR (+10.50 EUR with this plan)" in planned.output

    boot = run("bootstrap", "-p", "acme", "-e", "dev", "--print")
    assert boot.output == '#!/bin/sh\necho "open the hq site for ops"\n'
    assert load_plugin("acme").auth_methods["badge"].secret_fields == {"badge"}
