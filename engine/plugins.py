"""Provider plugins: find them (built in, then `INFRAR_PLUGIN_PATH`) and load their rules."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from infrar.engine.capabilities import load_capability
from infrar.engine.diagnostics import EngineError
from infrar.engine.rules import RuleSet, parse_rules
from infrar.engine.schema import schema_errors
from infrar.engine.yamlio import YamlError, load_yaml

PLUGIN_PATH_VARIABLE = "INFRAR_PLUGIN_PATH"
_SUBSTITUTED = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Provider:
    name: str
    root: Path

    def rules_files(self) -> dict[str, Path]:
        """Capability -> its rules file, one service per capability."""
        found: dict[str, Path] = {}
        for path in sorted(self.root.glob("services/*/*/transform/rules.yaml")):
            capability = path.parents[2].name
            if capability in found:
                raise EngineError(
                    f"{self.root}: capability {capability!r} has two services: "
                    f"{found[capability].parents[1].name} and {path.parents[1].name}"
                )
            found[capability] = path
        return found


def builtin_root() -> Path:
    import infrar.providers

    return Path(infrar.providers.__file__ or "").parent


def plugin_roots() -> list[Path]:
    """Where providers are looked for; earlier roots win."""
    extra = os.environ.get(PLUGIN_PATH_VARIABLE, "")
    return [Path(p) for p in extra.split(os.pathsep) if p] + [builtin_root()]


def discover() -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    for root in plugin_roots():
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if (folder / "services").is_dir() and folder.name not in providers:
                providers[folder.name] = Provider(folder.name, folder)
    return providers


def get_provider(name: str) -> Provider:
    providers = discover()
    if name not in providers:
        known = ", ".join(sorted(providers)) or "none"
        raise EngineError(f"unknown provider {name!r} (known: {known})")
    return providers[name]


def load_rules(provider: str, capability: str) -> RuleSet:
    path = get_provider(provider).rules_files().get(capability)
    if path is None:
        raise EngineError(f"provider {provider!r} does not support the {capability!r} capability")
    return _load_rules_file(provider, path, path.stat().st_mtime_ns)


def load_rules_file(provider: str, path: Path) -> RuleSet:
    """Load and check one rules file, also of a provider that is not installed (validation)."""
    return _load_rules_file(provider, path, path.stat().st_mtime_ns)


@cache
def _load_rules_file(provider: str, path: Path, _mtime: int) -> RuleSet:
    try:
        doc = load_yaml(path, cache=False)
    except (OSError, YamlError) as exc:
        raise EngineError(str(exc)) from None
    problems = schema_errors(doc, "rules")
    if problems:
        raise EngineError("\n".join(problems))
    rules = parse_rules(provider, doc.data, str(path))
    problems = [f"{path}:{doc.line_of(where)}: {msg}" for where, msg in _consistency(rules)]
    if problems:
        raise EngineError("\n".join(problems))
    return rules


def _unused_parameters(qualname: str, operation: str, expression: str
                       ) -> list[tuple[tuple[str, ...], str]]:
    """A rule must pass on every argument: one it leaves out would silently vanish."""
    parameters = load_capability(qualname.split(".", 1)[1]).signature(operation).parameters
    if set(parameters) <= set(_SUBSTITUTED.findall(expression)):
        return []  # the common case, decided without loading Jinja
    from jinja2 import TemplateSyntaxError, meta

    from infrar.engine.templates import environment

    try:
        used = meta.find_undeclared_variables(environment().parse(expression))
    except TemplateSyntaxError as exc:
        return [(("operations", operation, "expression"), f"template error: {exc.message}")]
    missing = [p for p in parameters if p not in used]
    if not missing:
        return []
    names = ", ".join(repr(p) for p in missing)
    return [(("operations", operation, "expression"),
             f"the expression never uses {names} of {qualname}.{operation}; every argument "
             "must reach the native code")]


def _consistency(rules: RuleSet) -> list[tuple[tuple[str, ...], str]]:
    """Cross-references the schema cannot check: needs, operations, exceptions."""
    cap = load_capability(rules.capability)
    known_blocks = {**cap.blocks, **rules.blocks}
    problems: list[tuple[tuple[str, ...], str]] = []
    for name in rules.blocks:
        if name in cap.blocks:
            problems.append((("blocks", name), f"block {name!r} is already a portable block"))
    for name, block in rules.blocks.items():
        for need in block.needs:
            if need not in known_blocks:
                problems.append((("blocks", name, "needs"), f"unknown block {need!r}"))
    for name, op in rules.operations.items():
        if name not in cap.functions:
            problems.append((("operations", name), f"{cap.qualname} has no operation {name!r}"))
        for need in op.needs:
            if need not in known_blocks:
                problems.append((("operations", name, "needs"), f"unknown block {need!r}"))
    for name in cap.functions:
        if name not in rules.operations:
            problems.append((("operations",), f"operation {name!r} has no rule"))
        else:
            problems += _unused_parameters(cap.qualname, name, rules.operations[name].expression)
    for native, sdk_name in rules.errors.items():
        if sdk_name not in cap.classes:
            problems.append((("errors", native), f"{sdk_name!r} is not an SDK exception"))
    return problems
