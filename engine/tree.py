"""A source tree: the Python files under some roots, known by module name, so that a module
can learn what another module of the same tree defines (constants, re-exported SDK names).

Files are read once and parsed only when something asks about them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from infrar.engine.analysis import ParsedModule, read_module
from infrar.engine.constants import ModuleNames, module_names
from infrar.engine.detect import Detection, ModuleContext, detect_module
from infrar.engine.files import python_files
from infrar.engine.source import MARKER, mentions

UNREADABLE = frozenset({"syntax-error", "not-utf8", "binary", "too-large", "too-complex"})


@dataclass(frozen=True)
class TreeFile:
    path: Path
    relative: PurePosixPath
    """Relative to the root it was found under: where it lands in a transformed tree."""
    module: str


def module_name(relative: PurePosixPath) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class SourceTree:
    def __init__(self, roots: Iterable[Path], *, base: Path | None = None) -> None:
        """`base`: diagnostics name files relative to it (the project folder) when they are
        inside it, so they read the same on any machine."""
        self.base = base.resolve() if base else None
        self.files = [TreeFile(file, PurePosixPath(rel.as_posix()),
                               module_name(PurePosixPath(rel.as_posix())))
                      for file, rel in python_files(roots)]
        self.by_module: dict[str, TreeFile] = {}
        for file in self.files:
            self.by_module.setdefault(file.module, file)
        self._data: dict[Path, bytes] = {}
        self._names: dict[Path, ModuleNames] = {}
        self._exports: dict[Path, dict[str, str]] = {}
        self._busy: set[Path] = set()
        self._markers: list[bytes] | None = None
        self._parsed: dict[Path, ParsedModule | None] = {}

    def data(self, file: TreeFile) -> bytes:
        if file.path not in self._data:
            self._data[file.path] = file.path.read_bytes()
        return self._data[file.path]

    def context(self, file: TreeFile, markers: tuple[bytes, ...] = (MARKER,)) -> ModuleContext:
        def reexport(module: str | None, level: int, name: str) -> str | None:
            target = self.resolve(file, module, level)
            return self._exported(target).get(name) if target else None

        def constant(module: str | None, level: int, name: str) -> str | None:
            target = self.resolve(file, module, level)
            return self._module_names(target).constants.get(name) if target else None

        return ModuleContext(reexport, constant, markers)

    def markers(self) -> tuple[bytes, ...]:
        return (MARKER, *self._reexporter_markers())

    def detect(self, files: list[TreeFile] | None = None) -> list[tuple[TreeFile, Detection]]:
        """Every SDK use in `files` (default: the whole tree), also through modules that
        re-export SDK names."""
        markers = self.markers()
        found = []
        for file in self.files if files is None else files:
            data = self.data(file)
            context = self.context(file, markers)
            module = read_module(data, self.shown(file), context.reexport,
                                 markers=context.markers)
            if mentions(data):
                self._parsed[file.path] = module
            detection = detect_module(module, path=self.shown(file), context=context)
            if not mentions(data) and any(d.code in UNREADABLE for d in detection.diagnostics):
                # Parsed only because it names a re-exporting module ("restore" holds "store");
                # a file Python cannot read either imports nothing from it.
                detection = Detection()
            found.append((file, detection))
        return found

    def parsed(self, file: TreeFile) -> ParsedModule | None:
        """The module as `detect` read it, when it mentions the SDK (a transform needs no
        other): each file is parsed and analysed once."""
        if file.path not in self._parsed and mentions(self.data(file)):
            self._parsed[file.path] = read_module(self.data(file), self.shown(file),
                                                  self.context(file).reexport)
        return self._parsed.get(file.path)

    def shown(self, file: TreeFile) -> str:
        """The file's path as diagnostics show it."""
        if self.base is not None and not file.path.is_absolute():
            return str(file.path)
        # The link's own place, not where a symlink points.
        located = file.path.parent.resolve() / file.path.name
        for base in (self.base, Path.cwd().resolve()):
            if base is not None and located.is_relative_to(base):
                return located.relative_to(base).as_posix()
        return str(file.path)

    def resolve(self, importer: TreeFile, module: str | None, level: int) -> TreeFile | None:
        """The tree's module that `from <level dots><module> import ...` in `importer` means."""
        if level:
            package = importer.module.split(".") if importer.relative.name == "__init__.py" \
                else importer.module.split(".")[:-1]
            if level - 1 > len(package):
                return None
            base = package[:len(package) - (level - 1)]
            wanted = ".".join([*base, *([module] if module else [])])
            return self.by_module.get(wanted)
        if module is None:
            return None
        folder = ".".join(importer.module.split(".")[:-1])
        # A loose script imports its neighbours by their bare names (its folder is sys.path[0]).
        for candidate in (module, f"{folder}.{module}" if folder else module):
            if candidate in self.by_module and self.by_module[candidate] is not importer:
                return self.by_module[candidate]
        return None

    def _reexporter_markers(self) -> list[bytes]:
        """The names of the modules that re-export SDK names, also through one another
        (`facade` re-exporting what `store` imports from the SDK): found to a fixed point."""
        if self._markers is not None:
            return self._markers
        markers: list[bytes] = []
        exporters: set[Path] = set()
        while True:
            known = (MARKER, *markers)
            found = [f for f in self.files if f.path not in exporters
                     and mentions(self.data(f), known) and self._exported(f, known)]
            if not found:
                break
            exporters.update(f.path for f in found)
            names = {f.module.rsplit(".", 1)[-1] for f in found} - {""}
            markers = sorted({*markers, *(n.encode() for n in names)})
        self._markers = markers
        return markers

    def _exported(self, file: TreeFile, markers: tuple[bytes, ...] = (MARKER,)
                  ) -> dict[str, str]:
        if file.path in self._exports:
            return self._exports[file.path]
        if file.path in self._busy or not mentions(self.data(file), markers):
            return {}
        self._busy.add(file.path)
        try:
            module = read_module(self.data(file), str(file.path), self.context(file).reexport,
                                 markers=markers)
            exports = module.analysis.module_sdk if module and not module.diagnostics else {}
        finally:
            self._busy.discard(file.path)
        self._exports[file.path] = exports
        return exports

    def _module_names(self, file: TreeFile) -> ModuleNames:
        if file.path in self._names:
            return self._names[file.path]
        if file.path in self._busy:
            return ModuleNames({}, {})
        self._busy.add(file.path)
        try:
            names = module_names(_parse(self.data(file)), self.context(file).constant)
        finally:
            self._busy.discard(file.path)
        self._names[file.path] = names
        return names


def _parse(data: bytes) -> ast.Module:
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ast.Module(body=[], type_ignores=[])
