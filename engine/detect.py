"""List what a module uses of the SDK: capability, operation, resource names, location."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from infrar.engine.analysis import analyse
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.source import Source, SourceError
from infrar.engine.transform import MARKER


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
    if MARKER not in data:
        return found
    try:
        source = Source.decode(data)
        tree = source.parse(path)
    except SourceError as exc:
        found.diagnostics.append(Diagnostic(path, exc.line, exc.col, exc.code, exc.message))
        return found
    analysis = analyse(tree)
    for node, code, message in analysis.problems:
        line = getattr(node, "lineno", 1)
        col = source.column(line, getattr(node, "col_offset", 0))
        found.diagnostics.append(Diagnostic(path, line, col, code, message))
    for call in analysis.calls:
        resources: dict[str, str | None] = {}
        for param in call.capability.resources:
            node = call.arguments.get(param)
            if node is None:
                continue
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
            resources[param] = node.value if literal else None  # type: ignore[union-attr]
        line = call.node.lineno
        found.uses.append(Use(call.capability.name, call.operation, path, line,
                              source.column(line, call.node.col_offset), resources))
    found.uses.sort(key=lambda u: (u.line, u.col))
    return found
