"""The engine's contract on one file, checked without trusting the engine: it transforms the
file correctly or refuses it with a diagnostic at file:line:col; it never raises and never
skips an SDK use silently.

`check_source` is the oracle shared by the fuzzer (bench/fuzz_engine.py), the generated
programs of test_fuzz_properties.py and the regression inputs under fuzz_regressions/. What
"correctly" means is computed here from the input's own syntax tree:

- the output compiles, and transforming it again changes nothing;
- the output is the input with only these spans replaced: SDK import statements (whole), loads
  of the name `infrar` (by `infrar` or the native package's name), attribute chains through an
  SDK submodule (`s.errors.X`, which the native package folds), and strings in annotations;
- the output's syntax tree equals the input's once SDK imports are left out and the native
  package's name is read as `infrar`; the names the imports bind are still bound;
- the output imports nothing from the SDK, and detection finds nothing left to rewrite in it.
"""

from __future__ import annotations

import ast
import codecs
import copy
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from infrar.engine.capabilities import module_names
from infrar.engine.detect import detect_source
from infrar.engine.native import PACKAGE as NATIVE
from infrar.engine.transform import FileResult, transform_source

SDK = "infrar"
BOM = b"\xef\xbb\xbf"
TRANSFORM_ONLY = frozenset({"name-clash", "fstring", "internal"})
"""Diagnostics only transformation gives (detection stops at analysis)."""
_LINE_END = re.compile(rb"\r\n?|\n")
# PEP 263: a coding declaration in a comment on line 1 or 2.
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


class Violation(AssertionError):
    """The engine broke its contract on an input."""


def _fail(message: str, data: bytes) -> Violation:
    shown = data if len(data) <= 2000 else data[:2000] + b"..."
    return Violation(f"{message}\n--- input ---\n{shown!r}")


@dataclass(frozen=True)
class Reading:
    """How Python itself reads the file: its text and syntax tree, when it has them."""

    text: str | None
    tree: ast.Module | None
    compiles: bool


def python_reading(data: bytes) -> Reading:
    """The file as CPython reads it: bytes honour a coding declaration; `compiles` also runs
    the compiler's own checks (`return` outside a function, `nonlocal` at module level)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences and the like
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return Reading(None, None, False)
        try:
            compile(data, "<fuzz>", "exec", dont_inherit=True)
            compiles = True
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            compiles = False
    text = _decoded(data)
    return Reading(text, tree, compiles)


def _decoded(data: bytes) -> str | None:
    encoding = declared_encoding(data) or "utf-8"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return text.removeprefix("\ufeff")


def declared_encoding(data: bytes) -> str | None:
    """The encoding a PEP 263 declaration names, normalised (`utf-8` when it is UTF-8)."""
    lines = data.removeprefix(BOM).splitlines()[:2]
    for number, line in enumerate(lines):
        match = _COOKIE.match(line)
        if match:
            try:
                return codecs.lookup(match.group(1).decode("ascii")).name
            except (LookupError, UnicodeDecodeError):
                return None
        if number == 0 and line.strip() and not line.lstrip().startswith(b"#"):
            return None  # line 2 counts only after a comment or blank line 1
    return None


def is_sdk_module(name: str) -> bool:
    return name == SDK or name.startswith(SDK + ".")


def sdk_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every statement of `tree` that imports from the SDK, as Python would run it."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(is_sdk_module(a.name) for a in node.names):
            found.append(node)
        elif isinstance(node, ast.ImportFrom) and not node.level \
                and is_sdk_module(node.module or ""):
            found.append(node)
    return found


def check_source(data: bytes, path: str = "fuzz.py") -> FileResult:
    """Run transform and detect on `data` and check every invariant; raise `Violation` (or
    whatever the engine raised) when one does not hold. Returns the transformation."""
    result = transform_source(data, path=path)
    found = detect_source(data, path=path)
    reading = python_reading(data)
    lines = len(_LINE_END.findall(data)) + 1
    for diagnostic in [*result.diagnostics, *found.diagnostics]:
        where = (diagnostic.path, diagnostic.line, diagnostic.col)
        if diagnostic.path != path or not 1 <= diagnostic.line <= lines or diagnostic.col < 1:
            raise _fail(f"diagnostic outside the file ({lines} lines): {diagnostic}", data)
        if not str(diagnostic).startswith("{}:{}:{}: ".format(*where)) or not diagnostic.message:
            raise _fail(f"diagnostic without file:line:col and message: {diagnostic!r}", data)
    for use in found.uses:
        if use.path != path or not 1 <= use.line <= lines or use.col < 1:
            raise _fail(f"use outside the file: {use}", data)
    analysis_problems = {d for d in result.diagnostics if d.code not in TRANSFORM_ONLY}
    if set(found.diagnostics) != analysis_problems:
        raise _fail(f"detect and transform disagree: {found.diagnostics} vs "
                    f"{result.diagnostics}", data)
    if reading.compiles and any(d.code == "internal" for d in result.diagnostics):
        raise _fail(f"a valid module was not rewritten: {result.diagnostics}", data)
    imports = sdk_imports(reading.tree) if reading.tree is not None else []
    if result.output is None:
        if result.ok and imports:
            raise _fail("imports the SDK, yet neither rewritten nor refused", data)
        if result.ok and found.uses:
            raise _fail(f"uses found but nothing rewritten: {found.uses}", data)
        return result
    if not result.ok:
        raise _fail(f"output despite errors: {result.diagnostics}", data)
    if found.diagnostics and any(d.severity == "error" for d in found.diagnostics):
        raise _fail(f"rewritten although detection refuses it: {found.diagnostics}", data)
    _check_output(data, result.output, reading, path)
    return result


def _check_output(data: bytes, output: bytes, reading: Reading, path: str) -> None:
    try:
        compile(output, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise _fail(f"the output does not compile: {exc}\n--- output ---\n{output!r}",
                    data) from None
    again = transform_source(output, path=path)
    if not again.ok or (again.output is not None and again.output != output):
        raise _fail(f"transforming the output again changed it: {again.diagnostics}\n"
                    f"--- output ---\n{output!r}", data)
    if transform_source(data, path=path).output != output:
        raise _fail("a second run gave other bytes", data)
    if detect_source(output, path=path).uses:
        raise _fail(f"SDK uses left in the output\n--- output ---\n{output!r}", data)
    out_tree = ast.parse(output)
    if sdk_imports(out_tree):
        raise _fail(f"the output still imports the SDK\n--- output ---\n{output!r}", data)
    if reading.tree is None or reading.text is None:
        raise _fail("rewritten although Python cannot read the input", data)
    if not splices_only(data, output, reading.tree):
        raise _fail(f"a byte outside the SDK's imports and names changed\n--- output ---\n"
                    f"{output!r}", data)
    try:
        same = _normal_dump(reading.tree) == _normal_dump(out_tree)
    except RecursionError:  # the oracle's own limit, deeper than the engine's: not compared
        same = True
    if not same:
        raise _fail(f"the output's syntax tree differs beyond SDK names\n--- output ---\n"
                    f"{output!r}", data)
    before = _bindings([*sdk_imports(reading.tree), *_native_imports(reading.tree)])
    after = _bindings(_native_imports(out_tree))
    star = any(a.name == "*" for n in sdk_imports(reading.tree) for a in n.names)
    if not before <= after or (after - before and not star):
        raise _fail(f"imports bind other names: {sorted(before)} -> {sorted(after)}\n"
                    f"--- output ---\n{output!r}", data)


# --- which bytes may change -------------------------------------------------------------------

_NAME, _ANY = "name", "any"


def _spans(data: bytes, tree: ast.Module) -> list[tuple[int, int, str]]:
    """Byte ranges of the input the engine may rewrite, sorted and merged."""
    starts = [0, *(m.end() for m in _LINE_END.finditer(data))]
    if data.startswith(BOM):
        starts[0] = len(BOM)

    def span(node: ast.AST) -> tuple[int, int]:
        end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", 0)
        start = starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        return start, starts[(end_line or node.lineno) - 1] + (end_col or 0)  # type: ignore[attr-defined]

    folded = {m.rsplit(".", 1)[1] for m in module_names() if m.count(".") >= 2}
    raw: list[tuple[int, int, str]] = []
    for node in sdk_imports(tree):
        raw.append((*span(node), _ANY))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == SDK:
            raw.append((*span(node), _NAME))
        elif isinstance(node, ast.Attribute) and node.attr in folded:
            raw.append((*span(node), _ANY))
    for annotation in _annotations(tree):
        for node in ast.walk(annotation):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                raw.append((*span(node), _ANY))
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(raw):
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), _ANY)
        else:
            merged.append((start, end, kind))
    return merged


def _annotations(tree: ast.Module) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                        args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    yield arg.annotation
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def splices_only(data: bytes, output: bytes, tree: ast.Module) -> bool:
    """Whether `output` is `data` with only the rewritable spans replaced: every other byte is
    kept, in order. Decided over the positions each literal gap can end at (no backtracking)."""
    spans = _spans(data, tree)
    gaps, position = [], 0
    for start, end, _ in spans:
        gaps.append(data[position:start])
        position = end
    gaps.append(data[position:])
    if not output.startswith(gaps[0]):
        return False
    reachable = {len(gaps[0])}
    for (start, end, kind), gap in zip(spans, gaps[1:], strict=True):
        after: set[int] = set()
        if kind == _NAME:
            for at in reachable:
                for name in (data[start:end], NATIVE.encode()):
                    if output.startswith(name + gap, at):
                        after.add(at + len(name) + len(gap))
        else:
            at = output.find(gap, min(reachable))
            while at != -1:
                after.add(at + len(gap))
                at = output.find(gap, at + 1) if gap else -1
            if not gap:
                after = set(range(min(reachable), len(output) + 1))
        if not after:
            return False
        reachable = after
    return len(output) in reachable


# --- what the syntax tree says ----------------------------------------------------------------

class _Normal(ast.NodeTransformer):
    """SDK and native imports left out, the native package's name read as the SDK's, folded
    submodules and annotation strings made alike, so input and output trees compare equal."""

    def __init__(self, folded: set[str]) -> None:
        self.folded = folded

    def visit_Import(self, node: ast.Import) -> ast.AST | None:
        return None if any(_sdk_or_native(a.name) for a in node.names) else node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | None:
        return None if not node.level and _sdk_or_native(node.module or "") else node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == NATIVE:
            node.id = SDK
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        inner = node.value
        if isinstance(inner, ast.Attribute) and inner.attr in self.folded:
            node.value = inner.value
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str) and (SDK in node.value):
            node.value = "<mentions the SDK>"
        return node


def _sdk_or_native(module: str) -> bool:
    return is_sdk_module(module) or module == NATIVE or module.startswith(NATIVE + ".")


def _normal_dump(tree: ast.Module) -> str:
    folded = {m.rsplit(".", 1)[1] for m in module_names() if m.count(".") >= 2}
    return ast.dump(_Normal(folded).visit(copy.deepcopy(tree)))


def _native_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
                a.name == NATIVE or a.name.startswith(NATIVE + ".") for a in node.names):
            found.append(node)
        elif isinstance(node, ast.ImportFrom) and not node.level and (
                (node.module or "") == NATIVE or (node.module or "").startswith(NATIVE + ".")):
            found.append(node)
    return found


def _bindings(statements: list[ast.Import | ast.ImportFrom]) -> set[str]:
    """The names the statements bind (a plain `import infrar.x` binds the native package's
    name once rewritten: counted as `infrar`)."""
    names = set()
    for stmt in statements:
        for alias in stmt.names:
            if alias.name == "*":
                continue
            if isinstance(stmt, ast.Import):
                bound = alias.asname or alias.name.split(".")[0]
            else:
                bound = alias.asname or alias.name
            names.add(SDK if bound == NATIVE else bound)
    return names
