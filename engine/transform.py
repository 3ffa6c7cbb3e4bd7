"""Point a module's SDK imports at the generated native package, splicing exact byte ranges.

`from infrar.storage import read` becomes `from infrar_native.storage import read`; call sites,
exception handlers and annotations keep every byte, because the native package defines the
SDK's names with the SDK's signatures. Everything else stays byte-for-byte as written.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from infrar.engine.analysis import Analysis, ParsedModule, read_module
from infrar.engine.capabilities import PACKAGE as SDK_PACKAGE
from infrar.engine.capabilities import module_names, symbol_table
from infrar.engine.detect import ModuleContext
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.native import LINE_LIMIT, PACKAGE
from infrar.engine.source import Source
from infrar.engine.templates import python_literal

# A continuation is a backslash before any line ending Python knows: \r\n, \n or a lone \r.
_FROM_MODULE = re.compile(rb"from(?:\s|\\(?:\r\n?|\n))+([\w.\s\\]+?)(?:\s|\\(?:\r\n?|\n))+import\b")


@dataclass(frozen=True)
class Rewrite:
    """One rewritten statement or name: where it stood and what it became (for reviews)."""

    line: int
    end_line: int
    operation: str
    before: str
    after: str


@dataclass
class FileResult:
    path: str
    original: bytes
    output: bytes | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    """The SDK capabilities the module uses, so the tree's native package provides them."""
    rewrites: list[Rewrite] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.output is not None and self.output != self.original

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: bytes


def native_module(qualname: str) -> str:
    """The generated module standing for an SDK module: `infrar.storage.errors` and
    `infrar.storage` are both `infrar_native.storage`; `infrar` is `infrar_native`."""
    parts = qualname.split(".")
    return ".".join([PACKAGE, *parts[1:2]])


def transform_source(data: bytes, *, path: str, context: ModuleContext | None = None
                     ) -> FileResult:
    module = read_module(data, path, context.reexport if context else None)
    return transform_module(module, data, path=path)


def transform_module(module: ParsedModule | None, data: bytes, *, path: str) -> FileResult:
    """The transformation of a module already read from `data` (None: one without the SDK)."""
    result = FileResult(path=path, original=data)
    if module is None:
        return result
    result.diagnostics += module.diagnostics
    analysis = module.analysis
    if result.diagnostics or not analysis.imports:
        return result
    assert module.source is not None and module.tree is not None
    used = {c.capability.name for c in analysis.calls}
    used |= {s.capability.name for s in analysis.symbols} | _imported_capabilities(analysis)
    result.capabilities = sorted(used)
    _Rewriter(module.source, module.tree, analysis, path, result).run()
    return result


def _imported_capabilities(analysis: Analysis) -> set[str]:
    found = set()
    for stmt in analysis.imports:
        modules = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else \
            [f"{stmt.module}.{a.name}" for a in stmt.names]
        found |= {m.split(".")[1] for m in modules if m.count(".") >= 1
                  and m.startswith(SDK_PACKAGE + ".")}
    return found


class _Rewriter:
    def __init__(self, source: Source, tree: ast.Module, analysis: Analysis, path: str,
                 result: FileResult) -> None:
        self.source, self.tree, self.analysis = source, tree, analysis
        self.path, self.result = path, result

    def run(self) -> None:
        edits = [e for stmt in self.analysis.imports for e in self._import_edits(stmt)]
        edits += self._submodule_edits()
        edits += self._annotation_edits()
        covered = _covered([(e.start, e.end) for e in edits])
        edits += [_Edit(self.source.start(n), self.source.end(n), PACKAGE.encode())
                  for n in self.analysis.package_names if not covered(self.source.start(n))]
        clash = self._clash() if self.analysis.package_names else None
        if clash is not None:
            self.result.diagnostics.append(self.source.diagnostic(
                self.path, clash, "name-clash",
                f"the module already uses the name `{PACKAGE}`, which `import {SDK_PACKAGE}` "
                f"becomes; rename it or import the SDK with `as`"))
            return
        for node in self.analysis.package_names:
            if self._self_documenting(node):
                self.result.diagnostics.append(self.source.diagnostic(
                    self.path, node, "fstring",
                    f"`{{...=}}` would print `{PACKAGE}` where the code says `{SDK_PACKAGE}`; "
                    "format the value without `=`, or import the SDK with `as`"))
        if self.result.diagnostics:
            return
        output = _apply(self.source.data, sorted(edits, key=lambda e: e.start))
        try:
            compile(output, self.path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            # A decoding error carries no column (-1) and may carry no line: stay in the file.
            line = min(max(exc.lineno or 1, 1), len(self.source.line_starts))
            self.result.diagnostics.append(Diagnostic(
                self.path, line, max(exc.offset or 1, 1), "internal",
                f"the rewritten module does not compile ({exc.msg}); nothing was written"))
            return
        self.result.output = output

    def _clash(self) -> ast.AST | None:
        """A node of the module that binds or reads the name the plain import will bind."""
        for node in ast.walk(self.tree):
            names = [getattr(node, "id", None), getattr(node, "arg", None)]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.ExceptHandler)):
                names.append(node.name)
            elif isinstance(node, ast.alias):
                names.append(node.asname or node.name.split(".")[0])
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names += node.names
            if PACKAGE in names:
                return node
        return None

    def _self_documenting(self, node: ast.AST) -> bool:
        """Whether `node` stands in an f-string replacement field written `{expression=}`,
        which prints the expression's own text."""
        child, parent = node, self.analysis.parents.get(node)
        while parent is not None and not isinstance(parent, ast.FormattedValue):
            child, parent = parent, self.analysis.parents.get(parent)
        if parent is None or parent.value is not child:
            return False
        end = self.source.end(child)
        return self.source.data[end:self.source.line_end(end)].lstrip().startswith(b"=")

    def _import_edits(self, stmt: ast.Import | ast.ImportFrom) -> list[_Edit]:
        if isinstance(stmt, ast.Import):
            edits = [self._alias_edit(a) for a in stmt.names if _is_sdk(a.name)]
        else:
            edits = self._from_edits(stmt)
        if edits:
            start, end = self.source.start(stmt), self.source.end(stmt)
            shifted = [_Edit(e.start - start, e.end - start, e.text) for e in edits]
            after = _apply(self.source.data[start:end], shifted).decode()
            self.result.rewrites.append(Rewrite(
                stmt.lineno, stmt.end_lineno or stmt.lineno, "import",
                self.source.data[start:end].decode(), after))
        return edits

    def _alias_edit(self, alias: ast.alias) -> _Edit:
        text = native_module(alias.name) + (f" as {alias.asname}" if alias.asname else "")
        return _Edit(self.source.start(alias), self.source.end(alias), text.encode())

    def _from_edits(self, stmt: ast.ImportFrom) -> list[_Edit]:
        module = stmt.module or ""
        submodules = [a for a in stmt.names if _is_submodule(f"{module}.{a.name}")]
        start, end = self.source.start(stmt), self.source.end(stmt)
        if submodules:
            return [_Edit(start, end, self._from_statement(stmt).encode())]
        if _is_submodule(module) and any(a.name == "*" for a in stmt.names):
            # The native module folds the submodule in, so its `*` would bind every SDK name
            # (`copy`, `read`, ...) over the module's own: import the submodule's names only.
            return [_Edit(start, end, _explicit_import(module, stmt.col_offset).encode())]
        match = _FROM_MODULE.match(self.source.data, start, end)
        if match is None:
            return [_Edit(start, end, self._from_statement(stmt).encode())]
        return [_Edit(match.start(1), match.end(1), native_module(module).encode())]

    def _from_statement(self, stmt: ast.ImportFrom) -> str:
        """The whole statement written anew, for the rare forms a splice cannot express
        (`from infrar.storage import errors`: a submodule that the native package folds in)."""
        module = stmt.module or ""
        lines = []
        for alias in stmt.names:
            qualname = f"{module}.{alias.name}"
            binding = alias.asname or alias.name
            if _is_submodule(qualname):
                parent, _, last = native_module(qualname).rpartition(".")
                lines.append(f"from {parent} import {last}" + ("" if last == binding
                                                                else f" as {binding}"))
            else:
                lines.append(f"from {native_module(module)} import {alias.name}"
                             + (f" as {alias.asname}" if alias.asname else ""))
        line_start = self.source.line_starts[stmt.lineno - 1]
        if self.source.data[line_start:self.source.start(stmt)].strip():
            return "; ".join(lines)  # after `;` or `if x:` on its line: stay on that line
        indent = self.source.data[line_start:self.source.start(stmt)].decode()
        return f"{self.source.newline}{indent}".join(lines)

    def _submodule_edits(self) -> list[_Edit]:
        """`s.errors.ObjectNotFoundError` -> `s.ObjectNotFoundError`: the native package folds
        the SDK's submodules into the capability module."""
        edits = []
        folded = _submodule_names()
        package_names = set(self.analysis.package_names)  # a list: `in` would be quadratic
        for ref in self.analysis.symbols:
            node = ref.node
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                    and node.value.attr in folded):
                continue
            inner = node.value
            start, end = self.source.start(inner.value), self.source.end(inner.value)
            text = self.source.data[start:end].decode()
            root = inner.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if root in package_names and self.source.start(root) == start:
                text = PACKAGE + text[len(SDK_PACKAGE):]
            edits.append(_Edit(self.source.start(inner), self.source.end(inner), text.encode()))
        return edits

    def _annotation_edits(self) -> list[_Edit]:
        """`"infrar.storage.ObjectInfo"` as an annotation: `typing.get_type_hints` evaluates
        the string in the module's globals, where `import infrar.storage` now binds
        `infrar_native`, so the string names the native package too."""
        if not self.analysis.module_package:
            return []
        edits = []
        for node in self.analysis.parents:
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and _in_annotation(node, self.analysis.parents)):
                continue
            value = _native_annotation(node.value)
            if value is None:
                continue
            start, end = self.source.start(node), self.source.end(node)
            written = self.source.data[start:end]
            quote = written[:1]
            simple = quote in (b'"', b"'") and written == quote + node.value.encode() + quote
            text = quote + value.encode() + quote if simple else python_literal(value).encode()
            edits.append(_Edit(start, end, text))
        return edits


def _in_annotation(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = parent.args
            annotations = [a.annotation for a in [*args.posonlyargs, *args.args,
                                                  *args.kwonlyargs, args.vararg, args.kwarg]
                           if a is not None]
            return child is parent.returns or any(child is a for a in annotations)
        if isinstance(parent, ast.AnnAssign):
            return child is parent.annotation
        if isinstance(parent, ast.stmt):
            return False
        child, parent = parent, parents.get(parent)
    return False


def _native_annotation(text: str) -> str | None:
    """The annotation string with each `infrar.<module>...` chain naming the native module,
    or None when it has none (or is not an expression)."""
    if SDK_PACKAGE not in text or "\n" in text:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return None
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    data = text.encode()
    edits = []
    for name in ast.walk(tree):
        if not (isinstance(name, ast.Name) and name.id == SDK_PACKAGE):
            continue
        chain: ast.expr = name
        parts = [name.id]
        while isinstance(parent := parents.get(chain), ast.Attribute) and parent.value is chain:
            chain, parts = parent, [*parts, parent.attr]
        if len(parts) < 2:
            continue
        known = max(k for k in range(1, len(parts) + 1)
                    if k == 1 or _known_module(".".join(parts[:k])))
        replacement = ".".join([native_module(".".join(parts[:known])), *parts[known:]])
        edits.append(_Edit(name.col_offset, chain.end_col_offset or 0, replacement.encode()))
    if not edits:
        return None
    return _apply(data, sorted(edits, key=lambda e: e.start)).decode()


def _explicit_import(module: str, indent: int) -> str:
    """`from <native module> import <what `from module import *` binds with the SDK>`."""
    names = sorted(q.rsplit(".", 1)[1] for q in symbol_table() if q.rsplit(".", 1)[0] == module)
    line = f"from {native_module(module)} import {', '.join(names)}"
    if indent + len(line) <= LINE_LIMIT:
        return line
    pad = " " * indent
    listed = "".join(f"{pad}    {name},\n" for name in names)
    return f"from {native_module(module)} import (\n{listed}{pad})"


def _is_sdk(module: str) -> bool:
    return module == SDK_PACKAGE or module.startswith(SDK_PACKAGE + ".")


def _is_submodule(qualname: str) -> bool:
    """An SDK module below a capability (`infrar.storage.errors`)."""
    return _is_sdk(qualname) and qualname.count(".") >= 2 and _known_module(qualname)


def _known_module(qualname: str) -> bool:
    return qualname in module_names()


def _submodule_names() -> set[str]:
    return {m.rsplit(".", 1)[1] for m in module_names() if m.count(".") >= 2}


def _covered(spans: list[tuple[int, int]]) -> Callable[[int], bool]:
    """Whether an offset lies in one of `spans` (half-open), in logarithmic time: a module may
    hold tens of thousands of `infrar.storage.errors.X` edits and `infrar` names."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    starts = [start for start, _ in merged]

    def covered(offset: int) -> bool:
        at = bisect.bisect_right(starts, offset) - 1
        return at >= 0 and offset < merged[at][1]

    return covered


def _apply(data: bytes, edits: list[_Edit]) -> bytes:
    out, position = [], 0
    for edit in edits:
        out += [data[position:edit.start], edit.text]
        position = edit.end
    out.append(data[position:])
    return b"".join(out)
