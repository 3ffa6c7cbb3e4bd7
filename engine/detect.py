"""List what a module uses of the SDK: capability, operation, resource names, location."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from infrar.engine.analysis import ParsedModule, ReExport, read_module
from infrar.engine.constants import ImportedConstant, ModuleNames, module_names, resolve
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.source import MARKER


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


@dataclass(frozen=True)
class ModuleContext:
    """What a module may learn from the other modules of its tree: SDK names they re-export,
    string constants they define, and the extra markers that make a file worth parsing."""

    reexport: ReExport | None = None
    constant: ImportedConstant | None = None
    markers: tuple[bytes, ...] = (MARKER,)


def detect_source(data: bytes, *, path: str, context: ModuleContext | None = None) -> Detection:
    context = context or ModuleContext()
    module = read_module(data, path, context.reexport, markers=context.markers)
    return detect_module(module, path=path, context=context)


def detect_module(module: ParsedModule | None, *, path: str, context: ModuleContext
                  ) -> Detection:
    """The SDK uses of a module already read (None: one that cannot use the SDK)."""
    found = Detection()
    if module is None:
        return found
    found.diagnostics += module.diagnostics
    source, analysis = module.source, module.analysis
    if source is None or module.tree is None:  # unreadable: the diagnostics say why
        return found
    names: ModuleNames | None = None
    for call in analysis.calls:
        resources: dict[str, str | None] = {}
        for param in call.capability.resources:
            node = call.arguments.get(param)
            if node is None:
                continue
            if names is None and not isinstance(node, ast.Constant):
                names = module_names(module.tree, context.constant)
            resources[param] = resolve(node, names or _NO_NAMES, context.constant)
        line = call.node.lineno
        column = source.column(line, call.node.col_offset)
        found.uses.append(Use(call.capability.name, call.operation, path, line, column, resources))
    found.uses.sort(key=lambda u: (u.line, u.col))
    return found


_NO_NAMES = ModuleNames({}, {})
