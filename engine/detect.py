"""List what a module uses of the SDK: capability, operation, resource names, location."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from infrar.engine.analysis import read_module
from infrar.engine.diagnostics import Diagnostic


@dataclass(frozen=True)
class Use:
    capability: str
    operation: str
    path: str
    line: int
    col: int
    resources: dict[str, str | None] = field(default_factory=dict)
    """Resource parameter -> logical name when written as a literal, else None."""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass
class Detection:
    uses: list[Use] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def detect_source(data: bytes, *, path: str) -> Detection:
    found = Detection()
    module = read_module(data, path)
    if module is None:
        return found
    found.diagnostics += module.diagnostics
    source, analysis = module.source, module.analysis
    if source is None:  # unreadable: the diagnostics say why, and there is nothing to detect
        return found
    for call in analysis.calls:
        resources: dict[str, str | None] = {}
        for param in call.capability.resources:
            node = call.arguments.get(param)
            if node is None:
                continue
            value = node.value if isinstance(node, ast.Constant) else None
            resources[param] = value if isinstance(value, str) else None
        line = call.node.lineno
        column = source.column(line, call.node.col_offset)
        found.uses.append(Use(call.capability.name, call.operation, path, line, column, resources))
    found.uses.sort(key=lambda u: (u.line, u.col))
    return found
