"""The generated Terraform of every cloud, for a program that performs every operation of every
capability the provider serves, validates against the real provider schemas of the lowest and
the newest release its version constraint admits.

The schemas come from the prebuilt CDK provider packages that tests/package.json installs
(one per release, see provider_schemas.py). A service folder added to a provider is picked up
here as soon as the plugin loads it, and so is a new capability or operation."""

from __future__ import annotations

import gzip
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from infra_support import CLOUDS, PROVIDERS_DIR
from provider_schemas import (
    ProviderSchema,
    admits,
    cached_schema,
    check_module,
    check_tree,
    installed_packages,
    load_schema,
    release,
)

from infrar.engine.capabilities import load_capability
from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.generate import generate_paths
from infrar.engine.plugins import load_rules

# Admitted releases that no prebuilt package was generated from, so the lowest one checked is
# above the constraint's lower bound: the aws packages go from 4.67.0 straight to 5.5.0.
LOWEST_PACKAGED = {"registry.terraform.io/hashicorp/aws": "5.5.0"}

# Letters only, and short: a valid name for every kind of resource on every provider.
CONFIG = """\
version: 1
project: shop
naming: "{project}{environment}{name}"
environments:
  dev: {}
"""
_PLACEHOLDERS = {"int": "1", "float": "1.0", "bool": "True", "bytes": 'b"x"', "dict": "{}",
                 "list": "[]"}


def _full_source(source: str) -> str:
    return source if source.count("/") == 2 else f"registry.terraform.io/{source}"


def _constraints(provider: str) -> dict[str, str]:
    """Provider source -> version constraint, from provider.yaml."""
    required = load_plugin(provider).terraform["required_providers"]
    return {_full_source(spec["source"]).lower(): spec["version"] for spec in required.values()}


def _admitted(source: str, constraint: str) -> list[tuple[str, Path]]:
    """(version, package folder) of the installed releases of `source`, oldest first; fails
    on one the constraint does not admit, since its package should then be replaced."""
    releases = sorted(((version, folder) for folder, (name, version)
                       in installed_packages().items() if name.lower() == source),
                      key=lambda found: release(found[0]))
    if not releases:
        pytest.skip(f"no provider schema package for {source} (run tests/install-emulators.sh)")
    refused = [version for version, _ in releases if not admits(constraint, version)]
    assert not refused, (f"{source} {', '.join(refused)} installed but not admitted by "
                         f"{constraint!r}: update tests/package.json")
    return releases


def _schemas(provider: str, which: str) -> list[ProviderSchema]:
    chosen = []
    for source, constraint in _constraints(provider).items():
        releases = _admitted(source, constraint)
        version, folder = releases[0] if which == "lowest" else releases[-1]
        schema = cached_schema(folder)
        assert schema.version == version
        chosen.append(schema)
    return chosen


def _call(function_name: str, function: Callable[..., object], resources: dict[str, str]) -> str:
    """A call of an SDK function with every resource argument a literal name and every other
    argument without a default a placeholder of its annotated type (the code is only read)."""
    arguments = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name in resources:
            arguments.append(f"{parameter.name}={resources[parameter.name]!r}")
        elif parameter.default is inspect.Parameter.empty:
            annotation = str(parameter.annotation).split("[")[0].split(" ")[0]
            arguments.append(f"{parameter.name}={_PLACEHOLDERS.get(annotation, repr('x'))}")
    return f"{function_name}({', '.join(arguments)})"


def program_using_everything(provider: str) -> str:
    """Python that performs every operation of every capability `provider` has a service for,
    each resource parameter naming its own resource."""
    capabilities = sorted(load_plugin(provider).services)
    calls = []
    for capability in capabilities:
        sdk = load_capability(capability)
        names = {param: f"{capability}{param.replace('_', '')}" for param in sdk.resources}
        calls += [_call(f"{capability}.{op}", sdk.functions[op], names)
                  for op in sorted(load_rules(provider, capability).operations)]
    return "\n".join([f"from infrar import {', '.join(capabilities)}", "", *calls]) + "\n"


def _generate(project, provider: str, config: str = CONFIG) -> Path:
    project.write(".infrar.yaml", config)
    project.write("src/app.py", program_using_everything(provider))
    target = resolve_target(load_project_config(), environment="dev", provider=provider)
    result = generate_paths([project.src], target=target)
    assert result.ok, result.diagnostics
    out = project.root / "tf"
    for name, data in result.files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    for capability in load_plugin(provider).services:
        done = {op for r in result.inventory.resources if r.capability == capability
                for op in r.operations}
        assert done == set(load_rules(provider, capability).operations), capability
    return out


@pytest.mark.parametrize("provider", CLOUDS)
def test_installed_releases_are_the_lowest_and_newest_admitted(provider) -> None:
    for source, constraint in _constraints(provider).items():
        releases = [version for version, _ in _admitted(source, constraint)]
        bound = next(c.split()[-1] for c in constraint.split(",") if c.split()[0] in ("~>", ">="))
        lowest = LOWEST_PACKAGED.get(source, ".".join((bound.split(".") + ["0", "0"])[:3]))
        assert releases[0] == lowest, (source, constraint, releases)
        assert len(releases) >= 2, f"{source}: install the newest admitted release too"


@pytest.mark.parametrize("which", ["lowest", "newest"])
@pytest.mark.parametrize("provider", CLOUDS)
def test_generated_terraform_matches_the_provider_schemas(project, provider, which) -> None:
    schemas = _schemas(provider, which)
    out = _generate(project, provider)
    report = check_tree(out, schemas)
    assert report.problems == [], "\n".join(map(str, report.problems))
    # Every resource, data source and provider block was checked, in every service's module.
    texts = [path.read_text(encoding="utf-8") for path in out.rglob("*.tf")]
    declared = sum(len(re.findall(r'^(?:resource|data|provider) "', text, re.MULTILINE))
                   for text in texts)
    assert len(report.checked) == declared > 0
    plugin = load_plugin(provider)
    modules = {f"modules/{s.module_name}/main.tf" for s in plugin.services.values()}
    assert {entry.split(":")[0] for entry in report.checked} >= modules | {"providers.tf"}
    services = (PROVIDERS_DIR / provider).glob("services/*/*/service.yaml")
    on_disk = {path.parent.resolve() for path in services}
    assert on_disk == {s.root.resolve() for s in plugin.services.values()}


SERVICES = """\
services:
  api:
    kind: http
    entry: app:main
    public: true
  worker:
    kind: worker
    entry: app:main
  nightly:
    kind: schedule
    entry: app:main
    schedule: "0 3 * * 1-5"
"""


@pytest.mark.parametrize("which", ["lowest", "newest"])
@pytest.mark.parametrize("provider", CLOUDS)
def test_generated_services_match_the_provider_schemas(project, provider, which) -> None:
    """The same program run by an http service, a worker and a schedule: identities, grants,
    registry and compute of every kind, each block checked against the provider's schema."""
    schemas = _schemas(provider, which)
    out = _generate(project, provider, CONFIG + SERVICES)
    report = check_tree(out, schemas)
    assert report.problems == [], "\n".join(map(str, report.problems))
    compute = [e for e in report.checked if e.startswith("modules/compute/main.tf: ")]
    module = (out / "modules" / "compute" / "main.tf").read_text(encoding="utf-8")
    assert len(compute) == len(re.findall(r'^(?:resource|data) "', module, re.MULTILINE)) > 5
    grants = [e for e in report.checked if "service" in e.split(": ")[1]
              and not e.startswith("modules/compute/")]
    assert grants, "the capability modules' per-service grants were checked too"


def test_a_broken_generated_module_fails(project) -> None:
    """The generated Azure container with a misspelt argument and no name."""
    (schema,) = _schemas("azure", "newest")
    out = _generate(project, "azure")
    module = next(out.glob("modules/storage-*/main.tf"))
    name = module.relative_to(out).as_posix()
    text = module.read_text(encoding="utf-8")
    assert check_module({name: text}, [schema]).problems == []
    broken = text.replace("  container_access_type = ", "  container_acess_type  = ", 1).replace(
        "  name                  = each.value.name\n", "", 1)
    assert broken.count("\n") == text.count("\n") - 1
    problems = [str(p) for p in check_module({name: broken}, [schema]).problems]
    where = f"{name}: azurerm_storage_container.this"
    assert problems == [
        f"{where}.container_acess_type: unsupported argument or block; did you mean "
        f"'container_access_type'? (hashicorp/azurerm {schema.version})",
        f"{where}.name: required argument is not set (hashicorp/azurerm {schema.version})",
    ]


def test_the_checker_reports_what_the_schema_does_not_allow() -> None:
    (schema,) = _schemas("aws", "newest")
    module = """
resource "aws_s3_bucket" "this" {
  bucket        = "shop"
  force_destroyy = false
  versioning {
    enabled = true
    mfa_deletes = false
  }
  lifecycle {
    prevent_destroy = true
    ignore_change   = [tags]
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    id     = "a"
    status = "Enabled"
    dynamic "noncurrent_version_expirations" {
      for_each = [1]
      content {}
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
  versioning_configuration {
    status = "Suspended"
  }
}

resource "aws_s3_buckets" "this" {}

data "aws_iam_policy_document" "this" {
  statement {
    actions = "s3:GetObject"
    principal {
      type = "AWS"
    }
  }
}

provider "aws" {
  regionn = "eu-west-1"
}

output "bucket" {
  value = [aws_s3_bucket.this.arn, aws_s3_bucket.this.arnn, var.bucket.arnn]
}

output "policy" {
  value = { for key, doc in data.aws_iam_policy_document.this : key => doc.json_text }
  description = "${data.aws_iam_policy_document.this.jsonn} is read too"
}
"""
    report = check_module({"main.tf": module}, [schema])
    found = {f"{p.address}{'.' + p.path if p.path else ''}: {p.message}" for p in report.problems}
    release = f"(hashicorp/aws {schema.version})"
    assert found == {
        f"aws_s3_bucket.this.force_destroyy: unsupported argument or block; did you mean "
        f"'force_destroy'? {release}",
        f"aws_s3_bucket.this.versioning.mfa_deletes: unsupported argument or block; did you mean "
        f"'mfa_delete'? {release}",
        f"aws_s3_bucket.this.lifecycle.ignore_change: unsupported in a lifecycle block; did you "
        f"mean 'ignore_changes'? {release}",
        f"aws_s3_bucket_policy.this.policy: required argument is not set {release}",
        f"aws_s3_bucket_lifecycle_configuration.this.rule[0].dynamic['noncurrent_version_"
        f"expirations']: no such block; did you mean 'noncurrent_version_expiration'? {release}",
        f"aws_s3_bucket_versioning.this.versioning_configuration: at most one "
        f"'versioning_configuration' block is allowed {release}",
        f"aws_s3_buckets.this: no such resource type; did you mean 'aws_s3_bucket'? {release}",
        f"data.aws_iam_policy_document.this.statement[0].actions: takes a list, not a string "
        f"{release}",
        f"data.aws_iam_policy_document.this.statement[0].principal: unsupported argument or "
        f"block; did you mean 'principals'? {release}",
        f"provider.aws.regionn: unsupported argument or block; did you mean 'region'? {release}",
        f"output.bucket: reads aws_s3_bucket.this.arnn, but aws_s3_bucket has no attribute "
        f"'arnn' {release}",
        f"output.policy: reads data.aws_iam_policy_document.this.jsonn, but "
        f"aws_iam_policy_document has no attribute 'jsonn' {release}",
    }
    assert all(str(p).startswith("main.tf: ") for p in report.problems)


_DEMO_DOCS = "https://registry.terraform.io/providers/acme/demo/1.2.3/docs"


def _property(name: str, terraform: str, type_: dict[str, object], *, optional: bool = True
              ) -> dict[str, object]:
    link = f"{{@link {_DEMO_DOCS}/resources/widget#{terraform} Widget#{terraform}}}"
    return {"name": name, "type": type_, "optional": optional,
            "docs": {"summary": f"Docs at Terraform Registry: {link}."}}


def _class(base: str, page: str, type_name: str, config: str) -> dict[str, object]:
    return {"kind": "class", "base": f"cdktf.{base}", "fqn": config.removesuffix("Config"),
            "docs": {"summary": f"Represents a {{@link {_DEMO_DOCS}{page} {type_name}}}."},
            "initializer": {"parameters": [{"name": "config", "type": {"fqn": config}}]}}


def _struct(*properties: dict[str, object]) -> dict[str, object]:
    return {"kind": "interface", "datatype": True, "properties": list(properties)}


def test_schema_reader_maps_names_by_their_registry_anchor(tmp_path) -> None:
    """A small assembly as the generator writes them, compressed behind a redirect as newer
    jsii releases do: names come from the registry anchors, blocks from structs."""
    string = {"primitive": "string"}
    rules = {"union": {"types": [{"fqn": "cdktf.IResolvable"}, {"collection": {
        "kind": "array", "elementtype": {"fqn": "demo.widget.WidgetRule"}}}]}}
    types = {
        "demo.widget.Widget": _class("TerraformResource", "/resources/widget", "demo_widget",
                                     "demo.widget.WidgetConfig"),
        "demo.widget.WidgetConfig": _struct(
            _property("name", "name", string, optional=False),
            _property("use32BitWorker", "use_32_bit_worker", {"primitive": "boolean"}),
            _property("systemAttribute", "system", string),
            _property("rule", "rule", rules)),
        "demo.widget.WidgetRule": _struct(_property("rule", "rule", rules)),
        "demo.provider.DemoProvider": _class("TerraformProvider", "", "demo",
                                             "demo.provider.DemoProviderConfig"),
        "demo.provider.DemoProviderConfig": _struct(),
    }
    (tmp_path / ".jsii.gz").write_bytes(gzip.compress(json.dumps({"types": types}).encode()))
    (tmp_path / ".jsii").write_text(json.dumps(
        {"schema": "jsii/file-redirect", "compression": "gzip", "filename": ".jsii.gz"}))
    (tmp_path / "package.json").write_text(json.dumps({
        "name": "@acme/provider-demo", "version": "7.0.0",
        "cdktf": {"provider": {"name": "registry.terraform.io/acme/demo", "version": "1.2.3"}}}))
    schema = load_schema(tmp_path)
    assert (schema.package, str(schema)) == ("@acme/provider-demo@7.0.0", "acme/demo 1.2.3")
    widget = schema.resources["demo_widget"]
    assert sorted(widget.arguments) == ["name", "system", "use_32_bit_worker"]
    assert widget.arguments["name"].required and not widget.arguments["system"].required
    assert widget.arguments["use_32_bit_worker"].kind == "bool"
    rule = widget.blocks["rule"]
    assert rule.repeated and not rule.required
    assert rule.block.blocks["rule"].block is rule.block  # a struct that contains itself
    widgets = 'resource "demo_widget" "w" {\n  system = "a"\n  rule {\n    rule {\n' \
              '      rule {}\n    }\n  }\n}\n'
    # Terraform reads an unlisted provider name as hashicorp/<name>.
    assert [str(p) for p in check_module({"main.tf": widgets}, [schema]).problems] == [
        "main.tf: demo_widget.w: no schema for provider registry.terraform.io/hashicorp/demo"]
    versions = 'terraform {\n  required_providers {\n    demo = {\n' \
               '      source = "acme/demo"\n    }\n  }\n}\n'
    report = check_module({"main.tf": widgets, "versions.tf": versions}, [schema])
    assert [str(p) for p in report.problems] == [
        "main.tf: demo_widget.w.name: required argument is not set (acme/demo 1.2.3)"]
