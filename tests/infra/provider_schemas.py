"""Terraform provider schemas read from the prebuilt CDK provider packages, and a checker of
generated Terraform against them.

`@cdktf/provider-*` and `@cdktn/provider-*` are generated from one provider release each (their
package.json names it under `cdktf.provider` or `cdktn.provider`). Their jsii assembly (`.jsii`)
holds one class per resource, data source and the provider itself; the class's `config`
struct lists the arguments and nested blocks that can be set, with `optional` on those that
need not be. Every property's documentation links to the Terraform Registry page of that
release with the Terraform name as the anchor (`...#storage_account_id
StorageContainer#storage_account_id`), which is how jsii names are mapped back: camelCase to
snake_case is right for most names, not all (`use32BitWorker` is `use_32_bit_worker`,
`systemAttribute` is `system`).

What the checker knows is what such a schema says: which resource and data source types
exist, their arguments and blocks (recursively), which are required, whether a block may be
repeated, the rough type of each argument, and the attributes each type exposes (a getter
each on its class) for the expressions that read them. Rules across arguments (exactly one of
two, conflicts) and value validation are not in the assembly, so they are not checked.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

SCHEMA_PACKAGES = Path(__file__).resolve().parents[1] / "node_modules"

# Registry links in the jsii docs: the anchor after '#' is the Terraform name.
_ANCHOR = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/\S+?#([A-Za-z0-9_-]+) \w+#[\w-]+\}")
_TYPE_LINK = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/([\w.-]+)/([\w.-]+)/([\w.-]+)"
    r"/docs(?:/(resources|data-sources)/\w+)? ([\w-]+)\}")
_BASES = {"TerraformResource": "resource", "TerraformDataSource": "data",
          "TerraformProvider": "provider"}

# Terraform's own arguments and blocks, beside what the provider declares.
RESOURCE_META = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle",
                           "provisioner", "connection"})
DATA_META = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle"})
PROVIDER_META = frozenset({"alias", "version"})
LIFECYCLE = frozenset({"create_before_destroy", "prevent_destroy", "ignore_changes",
                       "replace_triggered_by", "precondition", "postcondition"})
DYNAMIC = frozenset({"for_each", "iterator", "labels", "content"})
# Resource types Terraform itself serves (the terraform.io/builtin/terraform provider).
BUILTIN_TYPES = frozenset({"terraform_data", "terraform_remote_state"})


@dataclass(frozen=True)
class Argument:
    """An argument that can be set: `kind` is string, number, bool, list, map or any."""

    required: bool
    kind: str


@dataclass(frozen=True)
class Block:
    arguments: Mapping[str, Argument]
    blocks: Mapping[str, NestedBlock]


@dataclass(frozen=True)
class NestedBlock:
    block: Block
    required: bool
    repeated: bool  # a list or set of blocks; otherwise at most one


@dataclass(frozen=True)
class ProviderSchema:
    source: str  # registry.terraform.io/hashicorp/aws
    version: str  # the provider release the package was generated from
    package: str  # @cdktf/provider-aws@20.1.0
    provider: Block
    resources: Mapping[str, Block]
    data_sources: Mapping[str, Block]
    # What expressions may read of each resource and data source, arguments and computed
    # attributes alike, as _readable() spells them.
    resource_attributes: Mapping[str, frozenset[str]]
    data_source_attributes: Mapping[str, frozenset[str]]

    @property
    def short_source(self) -> str:
        return self.source.removeprefix("registry.terraform.io/")

    def __str__(self) -> str:
        return f"{self.short_source} {self.version}"


class SchemaError(Exception):
    """A package that does not look like a prebuilt provider."""


def _read_assembly(package: Path) -> dict[str, Any]:
    assembly: dict[str, Any] = json.loads((package / ".jsii").read_bytes())
    if assembly.get("schema") == "jsii/file-redirect":  # newer jsii compresses the assembly
        data = (package / assembly["filename"]).read_bytes()
        if assembly.get("compression") == "gzip":
            data = gzip.decompress(data)
        assembly = json.loads(data)
    return assembly


def _provider_metadata(manifest: Mapping[str, Any]) -> Mapping[str, str] | None:
    for key in ("cdktn", "cdktf"):
        provider = (manifest.get(key) or {}).get("provider")
        if isinstance(provider, dict) and "name" in provider and "version" in provider:
            return provider
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _readable(name: str) -> str:
    """A name as both spellings agree on: the class's getters have no registry anchors, and
    `use_32_bit_worker` is `use32BitWorker` there."""
    return name.replace("_", "").replace("-", "").lower()


def _attributes(entry: Mapping[str, Any], config: Block) -> frozenset[str]:
    """The attributes a resource or data source class exposes: a getter for each, beside the
    `...Input` getters of its arguments; reserved words get an `Attribute` suffix."""
    names = {_readable(name) for p in entry.get("properties", [])
             if not p.get("static") and not p["name"].endswith("Input")
             for name in (p["name"], p["name"].removesuffix("Attribute"))}
    return frozenset(names | {_readable(n) for n in (*config.arguments, *config.blocks)})


def _terraform_name(prop: Mapping[str, Any]) -> str:
    docs = prop.get("docs", {})
    found = _ANCHOR.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
    return found.group(1) if found else _snake(prop["name"])


class _Assembly:
    def __init__(self, types: Mapping[str, Any]) -> None:
        self.types = types
        self.blocks: dict[str, Block] = {}

    def _struct(self, ref: Mapping[str, Any]) -> str | None:
        fqn = ref.get("fqn")
        if fqn and self.types.get(fqn, {}).get("datatype"):
            return str(fqn)
        return None

    def _classify(self, ref: Mapping[str, Any]) -> tuple[str, str | None]:
        """(kind, struct fqn): a struct or a list of structs is a block."""
        if "union" in ref:
            options = [t for t in ref["union"]["types"] if not t.get("fqn", "").endswith(
                ".IResolvable")]
            return self._classify(options[0]) if len(options) == 1 else ("any", None)
        if "primitive" in ref:
            primitive = ref["primitive"]
            return {"boolean": "bool", "string": "string", "number": "number"}.get(
                primitive, "any"), None
        if "collection" in ref:
            collection = ref["collection"]
            kind = "list" if collection["kind"] == "array" else "map"
            element = self._struct(collection["elementtype"])
            return kind, element if kind == "list" else None
        struct = self._struct(ref)
        return ("block", struct) if struct else ("any", None)

    def block(self, fqn: str) -> Block:
        """The block a struct describes. Registered before its members are read, so a struct
        that contains itself (wafv2 statements do) refers to the same Block."""
        if fqn in self.blocks:
            return self.blocks[fqn]
        arguments: dict[str, Argument] = {}
        blocks: dict[str, NestedBlock] = {}
        made = self.blocks[fqn] = Block(arguments, blocks)
        for prop in self.types[fqn].get("properties", []):
            name = _terraform_name(prop)
            required = not prop.get("optional", False)
            kind, struct = self._classify(prop["type"])
            if struct is None:
                arguments[name] = Argument(required, kind)
            else:
                blocks[name] = NestedBlock(self.block(struct), required, repeated=kind == "list")
        return made


def load_schema(package: Path) -> ProviderSchema:
    """The schema of one installed prebuilt provider package (a folder with package.json)."""
    manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    provider = _provider_metadata(manifest)
    if provider is None:
        raise SchemaError(f"{package} is not a prebuilt Terraform provider package")
    assembly = _Assembly(_read_assembly(package)["types"])
    found: dict[str, dict[str, Block]] = {"resource": {}, "data": {}, "provider": {}}
    attributes: dict[str, dict[str, frozenset[str]]] = {"resource": {}, "data": {}}
    for entry in assembly.types.values():
        role = _BASES.get(entry.get("base", "").rpartition(".")[2])
        link = _TYPE_LINK.search(entry.get("docs", {}).get("summary", ""))
        if entry.get("kind") != "class" or role is None or link is None:
            continue
        if link.group(3) != provider["version"]:
            raise SchemaError(f"{entry['fqn']} documents {link.group(3)}, the package says "
                              f"{provider['version']}")
        config = next(p for p in entry["initializer"]["parameters"] if p["name"] == "config")
        block = found[role][link.group(5)] = assembly.block(config["type"]["fqn"])
        if role in attributes:
            attributes[role][link.group(5)] = _attributes(entry, block)
    if len(found["provider"]) != 1:
        raise SchemaError(f"{package}: {len(found['provider'])} provider classes")
    return ProviderSchema(
        source=provider["name"], version=provider["version"],
        package=f"{manifest['name']}@{manifest['version']}",
        provider=next(iter(found["provider"].values())),
        resources=found["resource"], data_sources=found["data"],
        resource_attributes=attributes["resource"], data_source_attributes=attributes["data"])


def installed_packages(folder: Path = SCHEMA_PACKAGES) -> dict[Path, tuple[str, str]]:
    """Every prebuilt provider package installed in `folder` (a node_modules): its folder ->
    (provider source, provider version), read from package.json alone."""
    found: dict[Path, tuple[str, str]] = {}
    candidates = [*folder.glob("*/package.json"), *folder.glob("@*/*/package.json")]
    for manifest_path in sorted(candidates):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        provider = _provider_metadata(manifest)
        if provider is not None and (manifest_path.parent / ".jsii").is_file():
            found[manifest_path.parent] = (provider["name"], provider["version"])
    return found


@cache
def cached_schema(package: Path) -> ProviderSchema:
    """load_schema, kept for the rest of the process: reading an assembly (50-125 MB of JSON)
    takes seconds, what is kept of it a few megabytes."""
    return load_schema(package)


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("."))


def admits(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint (`~> 4.9`, `>= 5.0, < 6.0`, `2.1.2`) admits a
    release."""
    found = release(version)
    for clause in constraint.split(","):
        operator, _, wanted = clause.strip().rpartition(" ")
        operator = operator.strip() or "="
        bound = release(wanted)
        padded = bound + (0,) * (len(found) - len(bound))
        if operator == "~>":
            upper = (*bound[:-2], bound[-2] + 1) if len(bound) > 1 else (bound[0] + 1,)
            ok = padded <= found < upper + (0,) * (len(found) - len(upper))
        else:
            ok = {"=": found == padded, "!=": found != padded, ">": found > padded,
                  ">=": found >= padded, "<": found < padded, "<=": found <= padded}[operator]
        if not ok:
            return False
    return True


# --- the checker -------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    file: str
    address: str  # aws_s3_bucket.this, data.aws_partition.current, provider.aws
    path: str  # rule[0].filter, or "" for the block itself
    message: str

    def __str__(self) -> str:
        where = f"{self.address}.{self.path}" if self.path else self.address
        return f"{self.file}: {where}: {self.message}"


@dataclass
class _Context:
    file: str
    address: str
    schema: ProviderSchema
    problems: list[Problem] = field(default_factory=list)

    def report(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.address, path, f"{message} ({self.schema})"))


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def _labelled(blocks: Any) -> Iterator[tuple[str, Any]]:
    """(label, body) of each `KEYWORD "label" {...}` in python-hcl2's output."""
    for entry in blocks if isinstance(blocks, list) else [blocks]:
        for label, body in entry.items():
            yield _unquote(label), body


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, dict) and item.get("__is_block__") for item in value)


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def _literal_kind(value: Any) -> str | None:
    """The kind of a literal value, None for an expression (its type is not known here)."""
    if _is_expression(value):
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return None


# Which literal kinds Terraform converts to each argument kind.
_ACCEPTS = {"string": {"string", "number", "bool"}, "number": {"number", "string"},
            "bool": {"bool", "string"}, "list": {"list"}, "map": {"map"}}


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_body(context: _Context, body: Mapping[str, Any], block: Block, path: str,
                meta: frozenset[str]) -> None:
    def at(name: str) -> str:
        return f"{path}.{name}" if path else name

    present: set[str] = set()
    for name, value in body.items():
        if name.startswith("__") or name in meta:
            continue
        if name == "dynamic":
            for label, dynamic in _labelled(value):
                _check_dynamic(context, label, dynamic, block, at(f"dynamic[{label!r}]"))
                present.add(label)
            continue
        present.add(name)
        if name in block.arguments:
            argument = block.arguments[name]
            kind = _literal_kind(value)
            if _is_block(value):
                context.report(at(name), "is an argument, not a block: set it with '='")
            elif kind is not None and kind not in _ACCEPTS.get(argument.kind, {kind}):
                context.report(at(name), f"takes a {argument.kind}, not a {kind}")
        elif name in block.blocks:
            nested = block.blocks[name]
            instances = value if _is_block(value) else None
            if instances is None:  # attribute syntax: a nested attribute, or an expression
                literal = value if isinstance(value, list) else [value]
                instances = [item for item in literal if isinstance(item, dict)]
            elif len(instances) > 1 and not nested.repeated:
                context.report(at(name), f"at most one {name!r} block is allowed")
            for index, instance in enumerate(instances):
                where = at(f"{name}[{index}]") if nested.repeated else at(name)
                _check_body(context, instance, nested.block, where, frozenset())
        else:
            known = [*block.arguments, *block.blocks]
            context.report(at(name), f"unsupported argument or block{_suggest(name, known)}")
    for name, argument in block.arguments.items():
        if argument.required and name not in present:
            context.report(at(name), "required argument is not set")
    for name, nested in block.blocks.items():
        if nested.required and name not in present:
            context.report(at(name), "required block is missing")


def _check_dynamic(context: _Context, label: str, dynamic: Mapping[str, Any], block: Block,
                   path: str) -> None:
    for name in dynamic:
        if not name.startswith("__") and name not in DYNAMIC:
            context.report(f"{path}.{name}", "unsupported in a dynamic block")
    if "for_each" not in dynamic:
        context.report(f"{path}.for_each", "required argument is not set")
    contents = dynamic.get("content", [])
    if not _is_block(contents) or len(contents) != 1:
        context.report(f"{path}.content", "a dynamic block needs exactly one content block")
        contents = []
    nested = block.blocks.get(label)
    if nested is None:
        known = list(block.blocks)
        message = ("is an argument: a dynamic block makes blocks only"
                   if label in block.arguments else
                   f"no such block{_suggest(label, known)}")
        context.report(path, message)
        return
    for content in contents:
        _check_body(context, content, nested.block, f"{path}.content", frozenset())


def _check_lifecycle(context: _Context, body: Mapping[str, Any]) -> None:
    value = body.get("lifecycle")
    if value is None:
        return
    for lifecycle in value if _is_block(value) else []:
        for name in lifecycle:
            if not name.startswith("__") and name not in LIFECYCLE:
                context.report(f"lifecycle.{name}", "unsupported in a lifecycle block"
                               f"{_suggest(name, LIFECYCLE)}")


# TYPE.NAME.ATTR, TYPE.NAME[KEY].ATTR and data.TYPE.NAME.ATTR in an expression.
_REFERENCE = re.compile(r"(?<![\w.])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)"
                        r"(?:\[[^\]]*\])?\.([A-Za-z_][\w-]*)")
_REFERRING = {"resource": 2, "data": 2, "output": 1, "locals": 0, "module": 1, "provider": 1}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not key.startswith("__"):
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _addressed(module: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(address, body) of every top-level block that may hold expressions."""
    for keyword, labels in _REFERRING.items():
        for entry in module.get(keyword, []):
            found = [([], entry)]
            for _ in range(labels):
                found = [([*names, label], body) for names, parent in found
                         for label, body in _labelled(parent)]
            for names, body in found:
                prefix = [] if keyword == "resource" else [keyword]
                yield ".".join([*prefix, *names]) or keyword, body


def _required_providers(modules: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Local provider name -> source, from every `terraform { required_providers {...} }`."""
    found: dict[str, str] = {}
    for module in modules:
        for terraform in module.get("terraform", []):
            for required in terraform.get("required_providers", []):
                for local, spec in required.items():
                    if isinstance(spec, dict) and "source" in spec:
                        found[local] = _unquote(str(spec["source"]))
    return found


def _normalise_source(source: str) -> str:
    parts = source.lower().split("/")
    return "/".join(["registry.terraform.io", *parts] if len(parts) == 2 else parts)


def _provider_of(kind: str, body: Mapping[str, Any]) -> str:
    """The local provider name a resource or data source uses."""
    chosen = body.get("provider")
    if isinstance(chosen, str):
        return chosen.removeprefix("${").removesuffix("}").split(".")[0]
    return kind.split("_", 1)[0]


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)  # file: address, of every block checked
    problems: list[Problem] = field(default_factory=list)

    def extend(self, other: Report) -> None:
        self.checked += other.checked
        self.problems += other.problems


def check_module(files: Mapping[str, str], schemas: Iterable[ProviderSchema]) -> Report:
    """Check one Terraform module (file name -> text) against provider schemas, one per
    provider source: its resources, data sources and provider blocks. One whose provider has
    no schema here is a problem too."""
    by_source = {_normalise_source(s.source): s for s in schemas}
    parsed = {name: hcl2.loads(text) for name, text in sorted(files.items())}
    sources = _required_providers(parsed.values())
    report = Report()

    def check(file: str, address: str, local: str, kind: str, body: Mapping[str, Any]) -> None:
        report.checked.append(f"{file}: {address}")
        source = _normalise_source(sources.get(local, f"hashicorp/{local}"))
        schema = by_source.get(source)
        if schema is None:
            report.problems.append(Problem(file, address, "", f"no schema for provider {source}"))
            return
        context = _Context(file, address, schema)
        if kind == "provider":
            _check_body(context, body, schema.provider, "", PROVIDER_META)
        else:
            keyword, _, type_name = kind.partition(" ")
            types = schema.resources if keyword == "resource" else schema.data_sources
            block = types.get(type_name)
            if block is None:
                what = "resource" if keyword == "resource" else "data source"
                context.report("", f"no such {what} type{_suggest(type_name, types)}")
            else:
                _check_body(context, body, block, "",
                            RESOURCE_META if keyword == "resource" else DATA_META)
                _check_lifecycle(context, body)
        report.problems.extend(context.problems)

    declared = {(keyword, type_name): _provider_of(type_name, body)
                for module in parsed.values() for keyword in ("resource", "data")
                for type_name, named in _labelled(module.get(keyword, []))
                for _, body in _labelled(named)}

    def check_reads(file: str, address: str, body: Any) -> None:
        """Every attribute an expression reads of a resource or data source of this module."""
        seen = set()
        for text in _strings(body):
            for match in _REFERENCE.finditer(text):
                keyword = "data" if match.group(1) else "resource"
                type_name, attribute = match.group(2), match.group(4)
                local = declared.get((keyword, type_name))
                schema = None if local is None else by_source.get(
                    _normalise_source(sources.get(local, f"hashicorp/{local}")))
                if schema is None or match.group(0) in seen:
                    continue
                seen.add(match.group(0))
                known = (schema.resource_attributes if keyword == "resource"
                         else schema.data_source_attributes).get(type_name)
                if known is not None and _readable(attribute) not in known:
                    report.problems.append(Problem(file, address, "", (
                        f"reads {match.group(0)}, but {type_name} has no attribute "
                        f"{attribute!r} ({schema})")))

    for file, module in parsed.items():
        for address, body in _addressed(module):
            check_reads(file, address, body)
        for keyword in ("resource", "data"):
            for type_name, named in _labelled(module.get(keyword, [])):
                if type_name in BUILTIN_TYPES:
                    continue
                for name, body in _labelled(named):
                    address = f"{type_name}.{name}" if keyword == "resource" else \
                        f"data.{type_name}.{name}"
                    check(file, address, _provider_of(type_name, body), f"{keyword} {type_name}",
                          body)
        for local, body in _labelled(module.get("provider", [])):
            check(file, f"provider.{local}", local, "provider", body)
    return report


def check_tree(root: Path, schemas: Iterable[ProviderSchema]) -> Report:
    """check_module for the root module in `root` and every module folder below it; files
    are named relative to `root`."""
    chosen = list(schemas)
    report = Report()
    for folder in sorted({path.parent for path in root.rglob("*.tf")}):
        files = {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
                 for path in sorted(folder.glob("*.tf"))}
        report.extend(check_module(files, chosen))
    return report
