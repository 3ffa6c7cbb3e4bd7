"""The rule model: blocks of native code, and one expression template per SDK operation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_IMPORT = re.compile(
    r"^(?:import (?P<module>[\w.]+)(?: as (?P<alias>\w+))?"
    r"|from (?P<from>[\w.]+) import (?P<name>\w+)(?: as (?P<alias2>\w+))?)$"
)


@dataclass(frozen=True)
class ImportSpec:
    """One import a block needs; `binding` is the name templates use to refer to it."""

    module: str
    name: str | None
    binding: str

    @staticmethod
    def parse(text: str) -> ImportSpec:
        match = _IMPORT.match(text.strip())
        if match is None:
            raise ValueError(f"not a simple import: {text!r}")
        if match["module"]:
            if "." in match["module"] and not match["alias"]:
                raise ValueError(f"dotted import needs 'as' or 'from' form: {text!r}")
            return ImportSpec(match["module"], None, match["alias"] or match["module"])
        return ImportSpec(match["from"], match["name"], match["alias2"] or match["name"])

    def statement(self, bound_as: str) -> str:
        if self.name is None:
            own = self.module
            return f"import {self.module}" + ("" if bound_as == own else f" as {bound_as}")
        suffix = "" if bound_as == self.name else f" as {bound_as}"
        return f"from {self.module} import {self.name}{suffix}"


@dataclass(frozen=True)
class Block:
    """Module-level native code (a client, a helper function, a class), hoisted once."""

    name: str
    code: str
    imports: tuple[ImportSpec, ...] = ()
    needs: tuple[str, ...] = ()
    defines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    name: str
    expression: str
    permissions: tuple[str, ...]
    needs: tuple[str, ...] = ()
    imports: tuple[ImportSpec, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """Everything needed to rewrite one capability for one provider."""

    provider: str
    capability: str
    service: str
    requirements: tuple[str, ...]
    errors: dict[str, str]
    blocks: dict[str, Block]
    operations: dict[str, Operation]
    source: str
    description: str = ""


def parse_block(name: str, raw: dict[str, Any]) -> Block:
    return Block(
        name=name,
        code=raw["code"],
        imports=tuple(ImportSpec.parse(i) for i in raw.get("imports", [])),
        needs=tuple(raw.get("needs", [])),
        defines=tuple(raw.get("defines", [])),
    )


def parse_operation(name: str, raw: dict[str, Any]) -> Operation:
    return Operation(
        name=name,
        expression=raw["expression"],
        permissions=tuple(raw.get("permissions", [])),
        needs=tuple(raw.get("needs", [])),
        imports=tuple(ImportSpec.parse(i) for i in raw.get("imports", [])),
        errors=dict(raw.get("errors", {})),
    )


def parse_rules(provider: str, raw: dict[str, Any], source: str) -> RuleSet:
    return RuleSet(
        provider=provider,
        capability=raw["capability"],
        service=raw["service"],
        requirements=tuple(raw.get("requirements", [])),
        errors=dict(raw.get("errors", {})),
        blocks={n: parse_block(n, b) for n, b in raw.get("blocks", {}).items()},
        operations={n: parse_operation(n, o) for n, o in raw["operations"].items()},
        source=source,
        description=raw.get("description", ""),
    )
