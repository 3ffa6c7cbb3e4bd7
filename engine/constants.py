"""Names that are constants: a module-level name bound exactly once, to a string literal.

`UPLOADS = "uploads"` (also `UPLOADS: Final = "uploads"` and `A, B = "a", "b"`) makes
`read(UPLOADS, key)` name the bucket "uploads" for detection, generation, naming checks and
IAM, as the literal would. So does `from .settings import UPLOADS` when `settings` is a module
of the same tree that holds such a constant. Any second binding of the name anywhere in the
module (an assignment in a function, a parameter, a loop variable, `global`) makes it dynamic:
the rule is deliberately simple so that it is never wrong.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

ImportedConstant = Callable[[str | None, int, str], str | None]
"""(module as written, relative level, name) -> the constant's value in that module, or None."""


@dataclass(frozen=True)
class ModuleNames:
    """What a module's own names stand for, as far as the engine can know it statically."""

    constants: dict[str, str]
    modules: dict[str, tuple[str, int]]
    """Names bound once by `import X [as m]` -> (module X, 0), to read `m.NAME` through."""


def module_names(tree: ast.Module, imported: ImportedConstant | None = None) -> ModuleNames:
    counts = _binding_counts(tree)
    if counts is None:
        return ModuleNames({}, {})
    constants: dict[str, str] = {}
    modules: dict[str, tuple[str, int]] = {}
    for stmt in tree.body:
        for name, value in _literal_bindings(stmt):
            if counts[name] == 1:
                constants[name] = value
        if isinstance(stmt, ast.ImportFrom) and imported is not None:
            for alias in stmt.names:
                binding = alias.asname or alias.name
                if counts[binding] != 1:
                    continue
                found = imported(stmt.module, stmt.level, alias.name)
                if found is not None:
                    constants[binding] = found
                else:  # perhaps a module: `from . import settings`, then `settings.NAME`
                    module = f"{stmt.module}.{alias.name}" if stmt.module else alias.name
                    modules[binding] = (module, stmt.level)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname and counts[alias.asname] == 1:
                    modules[alias.asname] = (alias.name, 0)
                elif not alias.asname and "." not in alias.name and counts[alias.name] == 1:
                    modules[alias.name] = (alias.name, 0)
    return ModuleNames(constants, modules)


def resolve(node: ast.expr, names: ModuleNames, imported: ImportedConstant | None) -> str | None:
    """The string `node` always evaluates to, or None when it cannot be known statically."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return names.constants.get(node.id)
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in names.modules and imported is not None):
        module, level = names.modules[node.value.id]
        return imported(module, level, node.attr)
    return None


def _literal_bindings(stmt: ast.stmt) -> list[tuple[str, str]]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        return _pairs(stmt.targets[0], stmt.value)
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and stmt.simple:
        return _pairs(stmt.target, stmt.value)
    return []


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[str, str]]:
    if isinstance(target, ast.Name) and isinstance(value, ast.Constant) \
            and isinstance(value.value, str):
        return [(target.id, value.value)]
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts):
        return [pair for t, v in zip(target.elts, value.elts, strict=True) for pair in _pairs(t, v)]
    return []


def _binding_counts(tree: ast.Module) -> Counter[str] | None:
    """How often each name is bound anywhere in the module; None when a star import may bind
    any name."""
    counts: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            counts[node.id] += 1
        elif isinstance(node, ast.arg):
            counts[node.arg] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[node.name] += 1
        elif isinstance(node, ast.Import):
            counts.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if any(a.name == "*" for a in node.names):
                return None
            counts.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            counts.update({name: 2 for name in node.names})
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            counts[node.name] += 1
        elif isinstance(node, ast.MatchMapping) and node.rest:
            counts[node.rest] += 1
    return counts
