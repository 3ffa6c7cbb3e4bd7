"""A provider plugin as data: every file read, schema-validated and cross-checked.

Problems are collected, not raised one at a time, so a plugin author sees all of them at once,
each as `file:line: yaml.path: message`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta

from infrar.engine.capabilities import load_capability
from infrar.engine.diagnostics import EngineError
from infrar.engine.naming import NamingRule
from infrar.engine.plugins import get_provider, load_rules_file
from infrar.engine.schema import meta_schema_error, schema_errors
from infrar.engine.templates import compile_infra_template, infra_environment
from infrar.engine.yamlio import YamlDocument, YamlError, format_yaml_path, load_yaml

TEMPLATES = {
    "provider_block": "terraform-config/provider-block.tf.tmpl",
    "backend": "terraform-config/backend.tf.tmpl",
    "variables": "terraform-config/variables.tf.tmpl",
    "bootstrap": "orchestration/bootstrap-script.sh.tmpl",
}
AUTH_FILES = ("method.yaml", "schema.yaml", "handler.yaml", "ui-instructions.yaml")
SERVICE_FILES = ("service.yaml", "defaults.yaml", "terraform/main.tf", "transform/rules.yaml")
MODULE_FOLDER = "terraform"
COMPUTE_FOLDER = "compute"
GRANTS_INPUT = "service_grants"
"""The variable of every capability module of a provider with compute: service name ->
{ principal, resources = logical key -> permissions }, what that service's code does."""

_SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+):(.*)$")
_BLOCK_START = re.compile(
    r'^(resource|data|variable|output|module)\s+"([^"]+)"(?:\s+"([^"]+)")?\s*\{')


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    description: str
    value: Any
    sensitive: bool = False
    source: str | None = None
    """Where a run may supply the value: region, project, environment, project_dir, env:NAME."""


@dataclass(frozen=True)
class ResourceKind:
    kind: str
    input: str
    naming: NamingRule


@dataclass(frozen=True)
class CheckovSkip:
    id: str
    resource: str
    reason: str


@dataclass(frozen=True)
class Service:
    capability: str
    name: str
    root: Path
    display_name: str
    description: str
    resources: dict[str, ResourceKind]
    inputs: dict[str, str]
    outputs: dict[str, str]
    defaults: dict[str, Variable]
    checkov_skips: tuple[CheckovSkip, ...]
    environment: dict[str, str] = field(default_factory=dict)
    """Environment variable every deployed service gets -> the module output with its value."""

    @property
    def module_dir(self) -> Path:
        return self.root / MODULE_FOLDER

    @property
    def module_name(self) -> str:
        return f"{self.capability}-{self.name}"


@dataclass(frozen=True)
class Compute:
    """Where a provider runs a project's services: one identity each, and its compute."""

    root: Path
    display_name: str
    description: str
    principal: str
    """The module output: service name -> the identity capability modules grant to."""
    replaces: str | None
    schedule_format: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    defaults: dict[str, Variable]
    checkov_skips: tuple[CheckovSkip, ...]

    @property
    def module_dir(self) -> Path:
        return self.root / MODULE_FOLDER

    @property
    def module_name(self) -> str:
        return "compute"


@dataclass(frozen=True)
class AuthMethod:
    name: str
    root: Path
    display_name: str
    description: str
    kind: str
    schema: dict[str, Any]
    environment: dict[str, str]
    instructions: dict[str, Any]
    file_field: str | None = None

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        return dict(self.schema.get("properties", {}))

    @property
    def secret_fields(self) -> set[str]:
        return {name for name, spec in self.fields.items() if spec.get("x-secret")}


@dataclass(frozen=True)
class Price:
    monthly: float
    notes: str = ""


@dataclass(frozen=True)
class Pricing:
    currency: str
    as_of: str
    resources: dict[str, Price]
    notes: str = ""


@dataclass(frozen=True)
class Region:
    id: str
    name: str


@dataclass(frozen=True)
class ProviderPlugin:
    name: str
    root: Path
    display_name: str
    description: str
    terraform: dict[str, Any]
    regions: tuple[Region, ...]
    default_region: str
    variables: dict[str, Variable]
    pricing: Pricing
    auth_methods: dict[str, AuthMethod]
    default_auth: str
    services: dict[str, Service]
    templates: dict[str, str] = field(default_factory=dict)
    compute: Compute | None = None

    @property
    def provider_sources(self) -> set[str]:
        return {p["source"] for p in self.terraform["required_providers"].values()}

    def service_for(self, capability: str) -> Service:
        try:
            return self.services[capability]
        except KeyError:
            raise EngineError(f"provider {self.name!r} has no service for the {capability!r} "
                              "capability") from None


def load_plugin(name: str) -> ProviderPlugin:
    """The installed (or INFRAR_PLUGIN_PATH) provider `name`, fully validated."""
    root = get_provider(name).root
    return _load_cached(name, root, _signature(root))


def _signature(root: Path) -> tuple[tuple[str, int], ...]:
    entries = []
    for folder, _, files in os.walk(root):
        entries += [(os.path.join(folder, f), os.stat(os.path.join(folder, f)).st_mtime_ns)
                    for f in files if not f.endswith(".pyc")]
    return tuple(sorted(entries))


@cache
def _load_cached(name: str, root: Path, _signature: tuple[tuple[str, int], ...]) -> ProviderPlugin:
    reader = _Reader(root, name)
    plugin = reader.provider()
    if plugin is None or reader.problems:
        raise EngineError(f"provider {name!r} is invalid:\n" + "\n".join(reader.problems))
    return plugin


def validate_plugin_dir(path: Path) -> list[str]:
    """Every problem in the provider at `path`, or in each provider folder directly under it."""
    if not path.is_dir():
        return [f"{path}: not a directory"]
    if _is_provider(path):
        roots = [path]
    else:
        roots = sorted(p for p in path.iterdir() if p.is_dir() and _is_provider(p))
    if not roots:
        return [f"{path}: no provider here (expected provider.yaml in it or in its folders)"]
    from infrar.engine.infra.generate import template_problems

    problems: list[str] = []
    for root in roots:
        reader = _Reader(root, root.name)
        plugin = reader.provider()
        problems += reader.problems
        if plugin is not None:
            problems += template_problems(plugin)
    return problems


def _is_provider(path: Path) -> bool:
    return (path / "provider.yaml").is_file() or (path / "services").is_dir()


class _Reader:
    """Reads one provider folder, collecting every problem it finds."""

    def __init__(self, root: Path, name: str) -> None:
        self.root, self.name = root, name
        self.problems: list[str] = []

    # --- files ---------------------------------------------------------------------------

    def add(self, doc: YamlDocument | Path, where: tuple[str | int, ...], message: str) -> None:
        if isinstance(doc, YamlDocument):
            self.problems.append(
                f"{doc.path}:{doc.line_of(where)}: {format_yaml_path(where)}: {message}")
        else:
            self.problems.append(f"{doc}:1: {message}")

    def yaml(self, path: Path, schema: str) -> YamlDocument | None:
        if not path.is_file():
            self.problems.append(f"{path}: missing required file")
            return None
        try:
            doc = load_yaml(path)
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{path}:1: cannot read: {exc}")
            return None
        except YamlError as exc:
            self.problems.append(str(exc))
            return None
        if doc.data is None:
            self.problems.append(f"{path}:1: (document): the file is empty")
            return None
        errors = _key_problems(doc, doc.data, ()) or schema_errors(doc, schema)
        self.problems += errors
        return None if errors else doc

    def template(self, relative: str) -> str | None:
        path = self.root / relative
        if not path.is_file():
            self.problems.append(f"{path}: missing required file")
            return None
        text = self.text(path)
        if text is None:
            return None
        try:
            compile_infra_template(text)
        except TemplateSyntaxError as exc:
            self.problems.append(f"{path}:{exc.lineno}: template error: {exc.message}")
            return None
        return text

    def text(self, path: Path) -> str | None:
        """A template or Terraform file's text; a problem at its line when it is not UTF-8."""
        data = path.read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            self.problems.append(f"{path}:{line}: not UTF-8 text")
            return None

    # --- the provider ----------------------------------------------------------------------

    def provider(self) -> ProviderPlugin | None:
        manifest = self.yaml(self.root / "provider.yaml", "provider")
        regions = self.yaml(self.root / "regions.yaml", "regions")
        defaults = self.yaml(self.root / "provider-defaults.yaml", "provider-defaults")
        pricing = self.yaml(self.root / "pricing-metadata.yaml", "pricing-metadata")
        templates = {key: self.template(rel) for key, rel in TEMPLATES.items()}
        auth = self.auth_methods()
        # None when provider-defaults.yaml is broken: inputs then cannot be checked against it.
        variables = _variables(defaults.data["variables"]) if defaults else None
        services = self.services(variables, pricing)
        compute = self.compute(variables, pricing, services)
        if manifest:
            self.check_manifest(manifest, auth)
        if regions:
            self.check_regions(regions)
        if not (manifest and regions and defaults and pricing) or None in templates.values():
            return None
        if self.problems:
            return None
        return _build(self.root, manifest, regions, variables or {}, pricing, auth, services,
                      templates, compute)

    def check_manifest(self, manifest: YamlDocument, auth: dict[str, AuthMethod]) -> None:
        if manifest.data["name"] != self.root.name:
            self.add(manifest, ("name",), f"must equal the folder name {self.root.name!r}")
        default = manifest.data["authentication"]["default"]
        if (self.root / "authentication" / default).is_dir() is False:
            have = ", ".join(sorted(auth)) or "none"
            self.add(manifest, ("authentication", "default"),
                     f"no authentication method {default!r} (have: {have})")

    def check_regions(self, regions: YamlDocument) -> None:
        ids = [r["id"] for r in regions.data["regions"]]
        if regions.data["default"] not in ids:
            self.add(regions, ("default",), f"{regions.data['default']!r} is not a listed region")
        for index, region_id in enumerate(ids):
            if region_id in ids[:index]:
                self.add(regions, ("regions", index, "id"), f"duplicate region {region_id!r}")

    # --- authentication --------------------------------------------------------------------

    def auth_methods(self) -> dict[str, AuthMethod]:
        folder = self.root / "authentication"
        methods = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        if not methods:
            self.problems.append(f"{folder}: missing: at least one authentication method folder")
        found = {}
        for method_root in methods:
            method = self.auth_method(method_root)
            if method is not None:
                found[method.name] = method
        return found

    def auth_method(self, root: Path) -> AuthMethod | None:
        method = self.yaml(root / "method.yaml", "auth-method")
        schema = self.yaml(root / "schema.yaml", "auth-schema")
        handler = self.yaml(root / "handler.yaml", "auth-handler")
        ui = self.yaml(root / "ui-instructions.yaml", "auth-ui-instructions")
        if not (method and schema and handler and ui):
            return None
        before = len(self.problems)
        if method.data["name"] != root.name:
            self.add(method, ("name",), f"must equal the folder name {root.name!r}")
        self.check_auth_schema(schema)
        fields = set(schema.data["properties"])
        file_field = method.data.get("file_field")
        if file_field and file_field not in fields:
            self.add(method, ("file_field",), f"{file_field!r} is not a field of schema.yaml")
        self.check_handler(handler, fields)
        if len(self.problems) > before:
            return None
        return AuthMethod(
            name=root.name, root=root, display_name=method.data["display_name"],
            description=method.data["description"], kind=method.data["kind"],
            schema=schema.data, environment=dict(handler.data["environment"]),
            instructions=ui.data, file_field=file_field,
        )

    def check_auth_schema(self, schema: YamlDocument) -> None:
        problem = meta_schema_error(schema)
        if problem is not None:
            self.add(schema, problem[0], f"not a valid JSON Schema: {problem[1]}")
        properties = schema.data["properties"]
        for name in schema.data.get("required", []):
            if name not in properties:
                self.add(schema, ("required",), f"{name!r} is required but not a property")
        seen: dict[str, str] = {}
        for name, spec in properties.items():
            env = spec["x-env"]
            if env in seen:
                self.add(schema, ("properties", name, "x-env"),
                         f"{env} is also read by {seen[env]!r}")
            seen[env] = name

    def check_handler(self, handler: YamlDocument, fields: set[str]) -> None:
        env = infra_environment()
        for name, text in handler.data["environment"].items():
            try:
                used = meta.find_undeclared_variables(env.parse(text))
            except TemplateSyntaxError as exc:
                self.add(handler, ("environment", name), f"template error: {exc.message}")
                continue
            for unknown in sorted(used - fields):
                self.add(handler, ("environment", name), f"uses {unknown!r}, not a schema field")

    # --- services --------------------------------------------------------------------------

    def services(self, variables: dict[str, Variable] | None, pricing: YamlDocument | None
                 ) -> dict[str, Service]:
        found: dict[str, Service] = {}
        folders = sorted(p for p in (self.root / "services").glob("*/*") if p.is_dir())
        if not folders:
            self.problems.append(f"{self.root / 'services'}: missing: at least one service folder")
        for root in folders:
            service = self.service(root, variables, pricing)
            if service is None:
                continue
            if service.capability in found:
                self.problems.append(f"{root}: capability {service.capability!r} already has "
                                     f"service {found[service.capability].name!r}")
                continue
            found[service.capability] = service
        return found

    def service(self, root: Path, variables: dict[str, Variable] | None,
                pricing: YamlDocument | None) -> Service | None:
        manifest = self.yaml(root / "service.yaml", "service")
        defaults = self.yaml(root / "defaults.yaml", "service-defaults")
        module_text = self.module_text(root)
        rules_ok = self.check_rules(root)
        if not (manifest and defaults and module_text is not None and rules_ok):
            return None
        before = len(self.problems)
        data = manifest.data
        if data["capability"] != root.parent.name:
            self.add(manifest, ("capability",), f"must equal the folder name {root.parent.name!r}")
        if data["service"] != root.name:
            self.add(manifest, ("service",), f"must equal the folder name {root.name!r}")
        self.check_kinds(manifest)
        module = _ModuleFacts.parse(module_text)
        self.check_inputs(manifest, defaults, module, variables)
        self.check_outputs(manifest, module)
        for name, output in manifest.data.get("environment", {}).items():
            if output not in module.outputs:
                self.add(manifest, ("environment", name), f"the module has no output {output!r}")
        self.check_skips(manifest, module)
        if pricing is not None:
            self.check_prices(root, module, pricing)
        if len(self.problems) > before:
            return None
        return _service(root, data, _variables(defaults.data["inputs"]))

    # --- compute ---------------------------------------------------------------------------

    def compute(self, variables: dict[str, Variable] | None, pricing: YamlDocument | None,
                services: dict[str, Service]) -> Compute | None:
        """compute/ of the provider, when it runs services (a provider may not)."""
        root = self.root / COMPUTE_FOLDER
        if not root.is_dir():
            return None
        manifest = self.yaml(root / "compute.yaml", "compute")
        defaults = self.yaml(root / "defaults.yaml", "service-defaults")
        module_text = self.module_text(root)
        if not (manifest and defaults and module_text is not None):
            return None
        before = len(self.problems)
        module = _ModuleFacts.parse(module_text)
        given = {"services", "environment_variables"}
        for name, source in manifest.data.get("inputs", {}).items():
            given.add(name)
            if name not in module.variables:
                self.add(manifest, ("inputs", name), f"the module has no variable {name!r}")
            if variables is not None and source not in variables:
                self.add(manifest, ("inputs", name),
                         f"{source!r} is not a variable of provider-defaults.yaml")
        for name in defaults.data["inputs"]:
            given.add(name)
            if name not in module.variables:
                self.add(defaults, ("inputs", name), f"the module has no variable {name!r}")
        for name in ("services", "environment_variables"):
            if name not in module.variables:
                self.add(manifest, (), f"the module has no variable {name!r}")
        for name, has_default in sorted(module.variables.items()):
            if not has_default and name not in given:
                self.add(manifest, ("inputs",),
                         f"module variable {name!r} has no default and is not given")
        replaces = manifest.data.get("replaces")
        if replaces and variables is not None and replaces not in variables:
            self.add(manifest, ("replaces",),
                     f"{replaces!r} is not a variable of provider-defaults.yaml")
        if manifest.data["principal"] not in manifest.data["outputs"]:
            self.add(manifest, ("principal",), "must be one of the declared outputs")
        self.check_outputs(manifest, module)
        self.check_skips(manifest, module)
        if pricing is not None:
            self.check_prices(root, module, pricing)
        for service in services.values():
            facts = _ModuleFacts.parse(self.module_text(service.root) or "")
            if GRANTS_INPUT not in facts.variables:
                self.add(manifest, (), f"the {service.capability} module "
                                       f"({service.name}) has no variable {GRANTS_INPUT!r}, "
                                       "so services could not be granted what they use")
        if len(self.problems) > before:
            return None
        data = manifest.data
        skips = tuple(CheckovSkip(s["id"], s["resource"], s["reason"].strip())
                      for s in data.get("checkov_skips", []))
        return Compute(root=root, display_name=data["display_name"],
                       description=data["description"], principal=data["principal"],
                       replaces=replaces, schedule_format=data["schedule_format"],
                       inputs=dict(data.get("inputs", {})), outputs=dict(data["outputs"]),
                       defaults=_variables(defaults.data["inputs"]), checkov_skips=skips)

    def module_text(self, root: Path) -> str | None:
        folder = root / MODULE_FOLDER
        if not (folder / "main.tf").is_file():
            self.problems.append(f"{folder / 'main.tf'}: missing required file")
            return None
        texts = [self.text(p) for p in sorted(folder.glob("*.tf"))]
        return None if None in texts else "\n".join(t for t in texts if t is not None)

    def check_rules(self, root: Path) -> bool:
        path = root / "transform" / "rules.yaml"
        if not path.is_file():
            self.problems.append(f"{path}: missing required file")
            return False
        try:
            load_rules_file(self.name, path)
        except EngineError as exc:
            self.problems += str(exc).splitlines()
            return False
        return True

    def check_kinds(self, manifest: YamlDocument) -> None:
        capability = manifest.data["capability"]
        try:
            kinds = set(load_capability(capability).resources.values())
        except EngineError as exc:
            self.add(manifest, ("capability",), str(exc))
            return
        declared = set(manifest.data["resources"])
        for kind in sorted(declared - kinds):
            self.add(manifest, ("resources", kind),
                     f"the {capability} capability has no resource kind {kind!r}")
        for kind in sorted(kinds - declared):
            self.add(manifest, ("resources",), f"resource kind {kind!r} is not declared")
        for kind, spec in manifest.data["resources"].items():
            rule = spec["naming"]
            if rule["min_length"] > rule["max_length"]:
                self.add(manifest, ("resources", kind, "naming", "min_length"),
                         "is greater than max_length")
            try:
                re.compile(rule["pattern"])
            except re.error as exc:
                self.add(manifest, ("resources", kind, "naming", "pattern"), f"bad regex: {exc}")

    def check_inputs(self, manifest: YamlDocument, defaults: YamlDocument,
                     module: _ModuleFacts, variables: dict[str, Variable] | None) -> None:
        given: set[str] = set()
        for kind, spec in manifest.data["resources"].items():
            given.add(spec["input"])
            if spec["input"] not in module.variables:
                self.add(manifest, ("resources", kind, "input"),
                         f"the module has no variable {spec['input']!r}")
        for name, source in manifest.data.get("inputs", {}).items():
            given.add(name)
            if name not in module.variables:
                self.add(manifest, ("inputs", name), f"the module has no variable {name!r}")
            if variables is not None and source not in variables:
                self.add(manifest, ("inputs", name),
                         f"{source!r} is not a variable of provider-defaults.yaml")
        for name in defaults.data["inputs"]:
            given.add(name)
            if name not in module.variables:
                self.add(defaults, ("inputs", name), f"the module has no variable {name!r}")
        for name, has_default in sorted(module.variables.items()):
            if not has_default and name not in given:
                self.add(manifest, ("inputs",),
                         f"module variable {name!r} has no default and is not given")

    def check_outputs(self, manifest: YamlDocument, module: _ModuleFacts) -> None:
        for name in manifest.data.get("outputs", {}):
            if name not in module.outputs:
                self.add(manifest, ("outputs", name), f"the module has no output {name!r}")

    def check_skips(self, manifest: YamlDocument, module: _ModuleFacts) -> None:
        declared = {(s["id"], s["resource"], s["reason"].strip())
                    for s in manifest.data.get("checkov_skips", [])}
        for skip in sorted(module.skips - declared):
            self.add(manifest, ("checkov_skips",),
                     f"the module skips {skip[0]} on {skip[1]} ({skip[2]!r}) without declaring it")
        for index, skip in enumerate(manifest.data.get("checkov_skips", [])):
            if (skip["id"], skip["resource"], skip["reason"].strip()) not in module.skips:
                self.add(manifest, ("checkov_skips", index),
                         f"no `# checkov:skip={skip['id']}:<same reason>` comment in "
                         f"{skip['resource']} of the module")

    def check_prices(self, root: Path, module: _ModuleFacts, pricing: YamlDocument) -> None:
        priced = set(pricing.data["resources"])
        for resource_type in sorted(module.resource_types - priced):
            self.add(pricing, ("resources",),
                     f"no price for {resource_type}, which {root.name}'s module creates")


@dataclass(frozen=True)
class _ModuleFacts:
    """What the plugin checks need to know of a module's HCL, read line by line (it is
    `terraform fmt`-formatted, so every block starts at column 0 and ends with `}` there)."""

    variables: dict[str, bool]
    outputs: set[str]
    resource_types: set[str]
    skips: set[tuple[str, str, str]]

    @staticmethod
    def parse(text: str) -> _ModuleFacts:
        variables: dict[str, bool] = {}
        outputs: set[str] = set()
        types: set[str] = set()
        skips: set[tuple[str, str, str]] = set()
        current: tuple[str, str, str | None] | None = None
        for line in text.splitlines():
            start = _BLOCK_START.match(line)
            if start:
                current = (start.group(1), start.group(2), start.group(3))
                if current[0] == "variable":
                    variables[current[1]] = False
                elif current[0] == "output":
                    outputs.add(current[1])
                elif current[0] == "resource":
                    types.add(current[1])
                continue
            if line.startswith("}"):
                current = None
                continue
            if current and current[0] == "variable" and re.match(r"^\s+default\s*=", line):
                variables[current[1]] = True
            skip = _SKIP_COMMENT.search(line)
            if skip and current and current[0] == "resource":
                skips.add((skip.group(1), f"{current[1]}.{current[2]}", skip.group(2).strip()))
        return _ModuleFacts(variables, outputs, types, skips)


def _key_problems(doc: YamlDocument, data: Any, where: tuple[str | int, ...]) -> list[str]:
    """YAML reads `null:`, `yes:` or `1:` as non-string keys; say so instead of failing later."""
    problems: list[str] = []
    if isinstance(data, dict):
        for name, value in data.items():
            if not isinstance(name, str):
                problems.append(f"{doc.path}:{doc.line_of((*where, name))}: "
                                f"{format_yaml_path(where)}: key {name!r} is not a string; "
                                "quote it")
            else:
                problems += _key_problems(doc, value, (*where, name))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            problems += _key_problems(doc, item, (*where, index))
    return problems


def _variables(raw: dict[str, dict[str, Any]]) -> dict[str, Variable]:
    return {
        name: Variable(name=name, type=spec["type"], description=spec["description"],
                       value=spec["value"], sensitive=bool(spec.get("sensitive", False)),
                       source=spec.get("from"))
        for name, spec in raw.items()
    }


def _service(root: Path, data: dict[str, Any], defaults: dict[str, Variable]) -> Service:
    resources = {
        kind: ResourceKind(kind=kind, input=spec["input"], naming=NamingRule(
            pattern=spec["naming"]["pattern"], min_length=spec["naming"]["min_length"],
            max_length=spec["naming"]["max_length"], description=spec["naming"]["description"]))
        for kind, spec in data["resources"].items()
    }
    skips = tuple(CheckovSkip(s["id"], s["resource"], s["reason"].strip())
                  for s in data.get("checkov_skips", []))
    return Service(
        capability=data["capability"], name=data["service"], root=root,
        display_name=data["display_name"], description=data["description"],
        resources=resources, inputs=dict(data.get("inputs", {})),
        outputs=dict(data.get("outputs", {})), defaults=defaults, checkov_skips=skips,
        environment=dict(data.get("environment", {})),
    )


def _build(root: Path, manifest: YamlDocument, regions: YamlDocument,
           variables: dict[str, Variable], pricing: YamlDocument,
           auth: dict[str, AuthMethod], services: dict[str, Service],
           templates: dict[str, str | None], compute: Compute | None) -> ProviderPlugin:
    data = manifest.data
    prices = {t: Price(float(p["monthly"]), p.get("notes", ""))
              for t, p in pricing.data["resources"].items()}
    return ProviderPlugin(
        name=data["name"], root=root, display_name=data["display_name"],
        description=data["description"], terraform=data["terraform"],
        regions=tuple(Region(r["id"], r["name"]) for r in regions.data["regions"]),
        default_region=regions.data["default"], variables=variables,
        pricing=Pricing(pricing.data["currency"], str(pricing.data["as_of"]), prices,
                        pricing.data.get("notes", "")),
        auth_methods=auth, default_auth=data["authentication"]["default"],
        services=services, templates={k: v for k, v in templates.items() if v is not None},
        compute=compute,
    )
