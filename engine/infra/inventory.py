"""What the code needs from the cloud: one resource per logical name, with the permissions that
the operations used on it require (from each operation's `permissions` in rules.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from infrar.engine.capabilities import load_capability
from infrar.engine.detect import Use
from infrar.engine.diagnostics import Diagnostic, Severity
from infrar.engine.infra.catalog import ProviderPlugin
from infrar.engine.naming import Naming, name_problem
from infrar.engine.plugins import load_rules


@dataclass(frozen=True)
class Resource:
    capability: str
    kind: str
    key: str
    """The logical name as written in the code, or the variable's name when it is not a literal."""
    physical: str | None
    variable: str | None
    permissions: tuple[str, ...]
    operations: tuple[str, ...]
    locations: tuple[str, ...]


@dataclass
class Inventory:
    provider: str
    resources: list[Resource] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def capabilities(self) -> list[str]:
        return sorted({r.capability for r in self.resources})


@dataclass
class _Found:
    physical: str | None
    variable: str | None
    permissions: set[str] = field(default_factory=set)
    operations: set[str] = field(default_factory=set)
    locations: list[str] = field(default_factory=list)


@dataclass
class Scan:
    """Every SDK use under some paths, each with its file's path relative to its root."""

    uses: list[tuple[Use, str]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def dynamic_variable(param: str, relative: str, line: int, col: int) -> str:
    """The Terraform variable that names a resource the code names with an expression: one
    per call, so two different names are never merged into one resource."""
    slug = re.sub(r"[^a-z0-9]+", "_", relative.lower()).strip("_")
    return f"{param}_{slug}_{line}_{col}"


def build_inventory(uses: list[tuple[Use, str]], *, plugin: ProviderPlugin,
                    naming: Naming) -> Inventory:
    inventory = Inventory(provider=plugin.name)
    found: dict[tuple[str, str, str], _Found] = {}
    for use, relative in uses:
        _add_use(use, relative, plugin, naming, found, inventory.diagnostics)
    for (capability, kind, key), item in sorted(found.items()):
        inventory.resources.append(Resource(
            capability=capability, kind=kind, key=key, physical=item.physical,
            variable=item.variable, permissions=tuple(sorted(item.permissions)),
            operations=tuple(sorted(item.operations)), locations=tuple(item.locations)))
    inventory.diagnostics.sort()
    return inventory


def _add_use(use: Use, relative: str, plugin: ProviderPlugin, naming: Naming,
             found: dict[tuple[str, str, str], _Found], diagnostics: list[Diagnostic]) -> None:
    service = plugin.services.get(use.capability)
    if service is None:
        diagnostics.append(_at(use, "unsupported", f"provider {plugin.name!r} has no service for "
                                                   f"the {use.capability!r} capability"))
        return
    permissions = load_rules(plugin.name, use.capability).operations[use.operation].permissions
    kinds = load_capability(use.capability).resources
    for param, logical in use.resources.items():
        kind = kinds[param]
        if logical is None:
            variable = dynamic_variable(param, relative, use.line, use.col)
            diagnostics.append(_at(use, "dynamic-name", (
                f"the {param} name is not a literal, so Terraform cannot know it: the {kind} is "
                f"named by the variable {variable!r}; set it in terraform.tfvars or with "
                f"TF_VAR_{variable}"), severity="warning"))
            item = found.setdefault((use.capability, kind, variable), _Found(None, variable))
        else:
            physical = naming.physical(logical)
            problem = name_problem(logical, physical, service.resources[kind].naming)
            if problem:
                diagnostics.append(_at(use, "resource-name", (
                    f"{kind} name {logical!r} {problem} ({plugin.display_name}, "
                    f"{service.display_name})")))
                continue
            item = found.setdefault((use.capability, kind, logical), _Found(physical, None))
        item.permissions.update(permissions)
        item.operations.add(use.operation)
        item.locations.append(use.location)


def _at(use: Use, code: str, message: str, *, severity: Severity = "error") -> Diagnostic:
    return Diagnostic(use.path, use.line, use.col, code, message, severity)
