"""What each service of a project runs, and so what it may touch: the modules reachable from its
entry point through imports inside the project, and the SDK uses in those modules.

Two services of one project get two sets of uses, so each gets its own least-privilege grants.
The reach is static: an import Python performs (`import a.b`, `from . import c`, `from x import
y` where `x.y` is a module, `importlib.import_module("literal")`) is followed, a module named
by a computed string is not. When a service's start cannot be known (a command that is neither
`python -m module`, a `.py` script nor `module:attribute`), every module of its paths counts,
and the reach says so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from infrar.engine.config import ProjectConfig, ServiceConfig
from infrar.engine.detect import Use
from infrar.engine.infra.inventory import Scan
from infrar.engine.tree import SourceTree, TreeFile

_APP_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_IMPORTERS = {("importlib", "import_module"), ("", "import_module"), ("", "__import__")}


@dataclass(frozen=True)
class Reach:
    """The modules one service runs."""

    service: str
    start: tuple[str, ...]
    """The modules it starts from (the entry's module, the command's module or script)."""
    modules: tuple[str, ...]
    whole_paths: bool = False
    """True when the start could not be known, so every module of its paths counts."""
    note: str = ""


@dataclass(frozen=True)
class ServiceUses:
    """One service's reach and the SDK uses in it: what its identity is granted."""

    service: ServiceConfig
    reach: Reach
    uses: list[tuple[Use, str]] = field(default_factory=list)

    @property
    def operations(self) -> dict[str, tuple[str, ...]]:
        """Capability -> the operations this service performs on it."""
        found: dict[str, set[str]] = {}
        for use, _ in self.uses:
            found.setdefault(use.capability, set()).add(use.operation)
        return {c: tuple(sorted(ops)) for c, ops in sorted(found.items())}


def project_roots(config: ProjectConfig) -> list[Path]:
    return [config.root / p for p in config.paths] or [config.root]


def reachable_modules(service: ServiceConfig, tree: SourceTree, *,
                      base: Path | None = None) -> Reach:
    """The modules of `tree` that `service` runs. `base`: where a command's script path is
    relative to (the project folder)."""
    start, note = _start(service, tree, base)
    if not start:
        return Reach(service.name, (), tuple(sorted(f.module for f in tree.files)),
                     whole_paths=True, note=note)
    seen: dict[str, TreeFile] = {}
    pending = list(start)
    while pending:
        file = pending.pop()
        if file.module in seen and seen[file.module] is file:
            continue
        seen[file.module] = file
        following = _imported(tree, file) + _packages(tree, file)
        pending += [f for f in following if seen.get(f.module) is not f]
    return Reach(service.name, tuple(sorted(f.module for f in start)), tuple(sorted(seen)),
                 note=note)


def service_uses(config: ProjectConfig, scan: Scan, *, roots: list[Path] | None = None
                 ) -> dict[str, ServiceUses]:
    """Service name -> its reach and the uses of `scan` inside it. `scan`'s paths are relative
    to the project folder, as the pipeline records them."""
    if not config.services:
        return {}
    base = config.root.resolve()
    project_tree = SourceTree(roots or project_roots(config), base=config.root)
    found = {}
    for name, service in sorted(config.services.items()):
        tree = project_tree
        if service.paths and not _start(service, tree, base)[0]:
            tree = SourceTree([config.root / p for p in service.paths], base=config.root)
        reach = reachable_modules(service, tree, base=base)
        files = {_relative(tree.by_module[m], base) for m in reach.modules}
        uses = [(use, relative) for use, relative in scan.uses if relative in files]
        found[name] = ServiceUses(service, reach, uses)
    return found


def _relative(file: TreeFile, base: Path) -> str:
    resolved = file.path.resolve()
    return resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) \
        else file.relative.as_posix()


def _start(service: ServiceConfig, tree: SourceTree, base: Path | None
           ) -> tuple[list[TreeFile], str]:
    if service.entry:
        module = service.entry.partition(":")[0]
        file = tree.by_module.get(module)
        if file is None:
            return [], (f"entry module {module!r} is not in the service's paths, so every "
                        "module there counts")
        return [file], ""
    command = list(service.command)
    for index, arg in enumerate(command):
        if arg == "-m" and index + 1 < len(command) and command[index + 1] in tree.by_module:
            return [tree.by_module[command[index + 1]]], ""
        script = _script(arg, tree, base)
        if script is not None:
            return [script], ""
        if _APP_SPEC.match(arg) and arg.partition(":")[0] in tree.by_module:
            return [tree.by_module[arg.partition(":")[0]]], ""
    return [], ("the command names no module of the project (`python -m module`, a `.py` "
                "script or `module:attribute`), so every module of its paths counts")


def _script(arg: str, tree: SourceTree, base: Path | None) -> TreeFile | None:
    if not arg.endswith(".py"):
        return None
    wanted = ((base or Path.cwd()) / arg).resolve()
    return next((f for f in tree.files if f.path.resolve() == wanted), None)


def _imported(tree: SourceTree, file: TreeFile) -> list[TreeFile]:
    """The tree's modules that running `file` imports, with the packages Python runs first."""
    try:
        module = ast.parse(tree.data(file))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found: list[TreeFile] = []
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found += _dotted(tree, file, alias.name, 0)
        elif isinstance(node, ast.ImportFrom):
            found += _dotted(tree, file, node.module, node.level)
            for alias in node.names:
                if alias.name != "*":
                    joined = f"{node.module}.{alias.name}" if node.module else alias.name
                    found += _dotted(tree, file, joined, node.level, parents=False)
        elif isinstance(node, ast.Call) and _is_importer(node.func) and node.args:
            name = node.args[0]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                found += _dotted(tree, file, name.value.lstrip("."),
                                 len(name.value) - len(name.value.lstrip(".")))
    return found


def _dotted(tree: SourceTree, importer: TreeFile, name: str | None, level: int, *,
            parents: bool = True) -> list[TreeFile]:
    """The module `name` (at relative `level`) and, with `parents`, each package above it."""
    if name is None:
        target = tree.resolve(importer, None, level)
        return [target] if target else []
    parts = name.split(".")
    prefixes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)] if parents else [name]
    found = []
    for prefix in prefixes:
        target = tree.resolve(importer, prefix, level)
        if target is not None:
            found.append(target)
    if level and parents:
        package = tree.resolve(importer, None, level)
        if package is not None:
            found.append(package)
    return found


def _packages(tree: SourceTree, file: TreeFile) -> list[TreeFile]:
    """The packages Python runs before `file`'s module (`a/__init__.py` for `a.b`)."""
    parts = file.module.split(".")
    names = [".".join(parts[:i]) for i in range(1, len(parts))]
    return [tree.by_module[n] for n in names if n in tree.by_module]


def _is_importer(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return ("", func.id) in _IMPORTERS
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return (func.value.id, func.attr) in _IMPORTERS
    return False
