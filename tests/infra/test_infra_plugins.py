"""Provider plugins are data, validated file by file with the line and YAML path of each error."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_support import ALL_PROVIDERS, CLOUDS, PROVIDERS_DIR, copy_provider

from infrar.engine.diagnostics import EngineError
from infrar.engine.infra.catalog import load_plugin, validate_plugin_dir

SCHEMAS = Path(__file__).resolve().parents[2] / "engine" / "schemas"


def test_builtin_providers_are_valid(run) -> None:
    assert validate_plugin_dir(PROVIDERS_DIR) == []
    result = run("providers", "validate", str(PROVIDERS_DIR / "aws"))
    assert result.exit_code == 0 and "valid" in result.output


@pytest.mark.parametrize("name", ALL_PROVIDERS)
def test_each_provider_carries_every_file_kind(name) -> None:
    plugin = load_plugin(name)
    root = PROVIDERS_DIR / name
    for relative in ("provider.yaml", "regions.yaml", "provider-defaults.yaml",
                     "pricing-metadata.yaml", "terraform-config/provider-block.tf.tmpl",
                     "terraform-config/backend.tf.tmpl", "terraform-config/variables.tf.tmpl",
                     "orchestration/bootstrap-script.sh.tmpl"):
        assert (root / relative).is_file(), relative
    for method in plugin.auth_methods.values():
        for file in ("method.yaml", "schema.yaml", "handler.yaml", "ui-instructions.yaml"):
            assert (method.root / file).is_file()
    storage = plugin.service_for("storage")
    for file in ("service.yaml", "defaults.yaml", "terraform/main.tf", "transform/rules.yaml"):
        assert (storage.root / file).is_file()
    assert plugin.default_region in {r.id for r in plugin.regions}


@pytest.mark.parametrize(("name", "methods"), [
    ("aws", {"static_keys", "web_identity"}),
    ("gcp", {"service_account_key", "workload_identity"}),
    ("azure", {"service_principal", "managed_identity"}),
])
def test_clouds_offer_a_static_and_a_keyless_method(name, methods) -> None:
    plugin = load_plugin(name)
    assert methods <= set(plugin.auth_methods)
    assert {m.kind for m in plugin.auth_methods.values()} & {"federated", "ambient"}


def test_every_file_kind_has_a_schema() -> None:
    names = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert {"provider", "regions", "provider-defaults", "pricing-metadata", "auth-method",
            "auth-schema", "auth-handler", "auth-ui-instructions", "service",
            "service-defaults", "rules", "infrar-config"} <= names


def test_local_terraform_uses_only_the_null_provider() -> None:
    plugin = load_plugin("local")
    assert plugin.provider_sources == {"hashicorp/null"}
    module = (plugin.service_for("storage").module_dir / "main.tf").read_text()
    assert 'interpreter = ["mkdir", "-p", "--"]' in module


def _broken(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    root = copy_provider("local", tmp_path)
    path = root / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1))
    return root


BREAKAGES = [
    ("provider.yaml", "name: local", "name: [local", "provider.yaml:4: invalid YAML"),
    ("provider.yaml", 'version: "2.1.2"', "version: 2",
     "provider.yaml:11: terraform.required_providers.null.version: 2 is not of type 'string'"),
    ("provider.yaml", "default: filesystem", "default: nosuch",
     "provider.yaml:13: authentication.default: no authentication method 'nosuch'"),
    ("provider.yaml", '"null":', "null:",
     "provider.yaml:10: terraform.required_providers: key None is not a string; quote it"),
    ("regions.yaml", "default: local", "default: moon",
     "regions.yaml:1: default: 'moon' is not a listed region"),
    ("provider-defaults.yaml", "type: string", "type: 'string; rm -rf /'",
     "provider-defaults.yaml:3: variables.local_root.type: 'string; rm -rf /' does not match"),
    ("provider-defaults.yaml", "from: project_dir", "from: shell",
     "provider-defaults.yaml:11: variables.project_dir.from: 'shell' does not match"),
    ("pricing-metadata.yaml", "monthly: 0", "monthly: -1",
     "pricing-metadata.yaml:6: resources.null_resource.monthly: -1 is less than the minimum of 0"),
    ("pricing-metadata.yaml", "null_resource:", "other_resource:",
     "pricing-metadata.yaml:5: resources: no price for null_resource"),
    ("authentication/filesystem/handler.yaml", "{{ local_root }}", "{{ password }}",
     "handler.yaml:2: environment.INFRAR_LOCAL_ROOT: uses 'password', not a schema field"),
    ("authentication/filesystem/schema.yaml", "x-env: INFRAR_LOCAL_ROOT", "x-env: lower",
     "schema.yaml:10: properties.local_root.x-env: 'lower' does not match"),
    ("authentication/filesystem/method.yaml", "kind: ambient", "kind: magic",
     "method.yaml:4: kind: 'magic' is not one of"),
    ("authentication/filesystem/ui-instructions.yaml", "steps:", "stepz:",
     "ui-instructions.yaml:1: (document): 'steps' is a required property"),
    ("services/storage/filesystem/service.yaml", "input: buckets", "input: bukkits",
     "service.yaml:7: resources.bucket.input: the module has no variable 'bukkits'"),
    ("services/storage/filesystem/service.yaml", "max_length: 63", "max_length: 'x'",
     "service.yaml:12: resources.bucket.naming.max_length: 'x' is not of type 'integer'"),
    ("services/storage/filesystem/service.yaml", "root: local_root", "root: nowhere",
     "service.yaml:15: inputs.root: 'nowhere' is not a variable of provider-defaults.yaml"),
    ("services/storage/filesystem/service.yaml", "  folders:", "  files:",
     "service.yaml:18: outputs.files: the module has no output 'files'"),
    ("services/storage/filesystem/service.yaml", "capability: storage", "capability: queues",
     "service.yaml:1: capability: must equal the folder name 'storage'"),
    ("services/storage/filesystem/service.yaml", "  bucket:\n", "  bucket:\n", None),
    ("services/storage/filesystem/terraform/main.tf", "  for_each = var.buckets\n",
     "  # checkov:skip=CKV_AWS_1:An undeclared skip of a check.\n  for_each = var.buckets\n",
     "service.yaml:1: checkov_skips: the module skips CKV_AWS_1 on null_resource.bucket"),
    ("services/storage/filesystem/transform/rules.yaml", "capability: storage",
     "capability: [storage", "rules.yaml:"),
    ("terraform-config/provider-block.tf.tmpl", "{% endfor %}", "{% endfro %}",
     "provider-block.tf.tmpl:10: template error: Encountered unknown tag 'endfro'"),
    ("terraform-config/variables.tf.tmpl", "{{ v.description | hcl }}", "{{ v.summary | hcl }}",
     "variables.tf.tmpl:3: template error: 'dict object' has no attribute 'summary'"),
    ("orchestration/bootstrap-script.sh.tmpl", "values.local_root", "values.nothing",
     "bootstrap-script.sh.tmpl:6: template error"),
]


@pytest.mark.parametrize(("relative", "old", "new", "expected"),
                         [b for b in BREAKAGES if b[3]], ids=lambda v: str(v)[:30])
def test_broken_plugin_files_are_reported_with_line_and_path(tmp_path, run, relative, old, new,
                                                             expected) -> None:
    root = _broken(tmp_path, relative, old, new)
    problems = validate_plugin_dir(root)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(str(root)) for p in problems), problems
    result = run("providers", "validate", str(root))
    assert result.exit_code == 2
    assert expected in result.output and "problem(s)" in result.output


def test_all_problems_are_listed_together(tmp_path) -> None:
    root = _broken(tmp_path, "regions.yaml", "default: local", "default: moon")
    (root / "pricing-metadata.yaml").write_text("currency: dollars\n")
    (root / "orchestration" / "bootstrap-script.sh.tmpl").unlink()
    problems = validate_plugin_dir(root)
    assert len(problems) >= 4
    assert any("bootstrap-script.sh.tmpl: missing required file" in p for p in problems)
    assert any("pricing-metadata.yaml:1: currency: 'dollars' does not match" in p
               for p in problems)


def test_a_broken_plugin_on_the_plugin_path_fails_loudly(tmp_path, monkeypatch) -> None:
    _broken(tmp_path, "regions.yaml", "default: local", "default: moon")
    monkeypatch.setenv("INFRAR_PLUGIN_PATH", str(tmp_path))
    with pytest.raises(EngineError, match="provider 'local' is invalid:\n.*'moon'"):
        load_plugin("local")


@pytest.mark.parametrize("name", CLOUDS)
def test_checkov_skips_are_declared_and_documented(name) -> None:
    service = load_plugin(name).service_for("storage")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "terraform.md").read_text()
    for skip in service.checkov_skips:
        assert len(skip.reason) >= 10 and "\n" not in skip.reason
        assert f"`{skip.id}`" in docs and skip.reason in docs
