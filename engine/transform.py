"""Rewrite SDK calls into a provider's native code, splicing exact byte ranges.

Everything the engine does not rewrite stays byte-for-byte as written, comments included.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from infrar.engine.analysis import Analysis, CallSite, SymbolRef, read_module
from infrar.engine.assembly import Assembly
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.plugins import load_rules
from infrar.engine.rules import ImportSpec
from infrar.engine.source import Source, find_line_starts

ResourceNamer = Callable[[str, str], str]
"""(resource kind, logical name) -> physical name."""

_ATOMIC = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.JoinedStr,
           ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp)
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = "__infrar_arg_{}__"
_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("__"))


@dataclass(frozen=True)
class Rewrite:
    """One rewritten call: where it stood and what it became (for reviews and diffs)."""

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
    requirements: list[str] = field(default_factory=list)
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


def transform_source(data: bytes, *, path: str, provider: str,
                     namer: ResourceNamer | None = None) -> FileResult:
    result = FileResult(path=path, original=data)
    module = read_module(data, path)
    if module is None:
        return result
    result.diagnostics += module.diagnostics
    analysis = module.analysis
    if result.diagnostics or not (analysis.calls or analysis.symbols or analysis.imports):
        return result
    assert module.source is not None and module.tree is not None
    try:
        _Rewriter(module.source, analysis, path, provider, namer, result).run(module.tree)
    except EngineError as exc:
        result.diagnostics.append(Diagnostic(path, 1, 1, "rules", str(exc)))
        result.output = None
    return result


class _Rewriter:
    def __init__(self, source: Source, analysis: Analysis, path: str, provider: str,
                 namer: ResourceNamer | None, result: FileResult) -> None:
        self.source, self.analysis, self.path = source, analysis, path
        self.namer, self.result = namer, result
        capabilities = {c.capability.name for c in analysis.calls}
        capabilities |= {s.capability.name for s in analysis.symbols}
        rules = {name: load_rules(provider, name) for name in sorted(capabilities)}
        taken = {m.decode() for m in _IDENTIFIER.findall(source.data)}
        self.assembly = Assembly(rules=rules, taken=taken, prefix_imports=analysis.star_import)
        self.removed: list[tuple[int, int]] = []

    def run(self, tree: ast.Module) -> None:
        edits = [self._render_top(item) for item in _nest(self._items())]
        removals = self._import_removals()
        edits += removals
        if self.assembly.order:
            self.removed = [(e.start, e.end) for e in removals if not e.text]
            edits += self._insertions(tree)
        if self.result.diagnostics:
            return
        output = _apply(self.source.data, 0, len(self.source.data), sorted(
            edits, key=lambda e: (e.start, e.end)))
        try:
            compile(output, self.path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            self.result.diagnostics.append(Diagnostic(
                self.path, exc.lineno or 1, exc.offset or 1, "internal",
                f"the rewritten module does not compile ({exc.msg}); nothing was written"))
            return
        self.result.output = output
        self.result.requirements = self.assembly.requirements()

    def _items(self) -> list[_Item]:
        items = [_Item(self.source.start(c.node), self.source.end(c.node), c)
                 for c in self.analysis.calls]
        items += [_Item(self.source.start(s.node), self.source.end(s.node), s)
                  for s in self.analysis.symbols]
        return items

    def _render_top(self, item: _Item) -> _Edit:
        text = self._render(item)
        if isinstance(item.use, CallSite):
            node = item.use.node
            self.result.rewrites.append(Rewrite(
                node.lineno, node.end_lineno or node.lineno, item.use.operation,
                self.source.data[item.start:item.end].decode(), text.decode()))
        return _Edit(item.start, item.end, text)

    def _render(self, item: _Item) -> bytes:
        use = item.use
        if isinstance(use, SymbolRef):
            return self.assembly.require_symbol(use.capability.name, use.symbol).encode()
        return self._render_call(use, item.children)

    def _render_call(self, call: CallSite, children: list[_Item]) -> bytes:
        signature = call.capability.signature(call.operation)
        args: dict[str, str] = {}
        texts: dict[str, str] = {}
        for name, param in signature.parameters.items():
            node = call.arguments.get(name)
            if node is None:
                args[name] = repr(param.default)
                continue
            args[name] = _PLACEHOLDER.format(name)
            texts[name] = self._argument_text(call, name, node, children)
        rendered = self.assembly.render_call(
            call.capability.name, call.operation, args, set(call.arguments))
        rendered = rendered.replace("\n", self.source.newline)
        if call.in_fstring and re.search(r"[\"'\\{}]", rendered):
            self.result.diagnostics.append(self.source.diagnostic(self.path, call.node, "fstring",
                f"the {call.operation} rule renders quotes or braces, which cannot stand inside "
                "an f-string before Python 3.12; move the call out of the f-string"))
        if call.in_fstring and self._self_documenting(call.node):
            self.result.diagnostics.append(self.source.diagnostic(self.path, call.node, "fstring",
                f"`{{...=}}` would print the rewritten code instead of the {call.operation} call; "
                "format the value without `=`"))
        return _substitute(rendered, texts, call.operation).encode()

    def _self_documenting(self, node: ast.AST) -> bool:
        """Whether `node` stands in an f-string replacement field written `{expression=}`."""
        child, parent = node, self.analysis.parents.get(node)
        while parent is not None and not isinstance(parent, ast.FormattedValue):
            child, parent = parent, self.analysis.parents.get(parent)
        if parent is None or parent.value is not child:
            return False
        end = self.source.end(child)
        after = self.source.data[end:self.source.line_end(end)]
        return after.lstrip().startswith(b"=")

    def _argument_text(self, call: CallSite, name: str, node: ast.expr,
                       children: list[_Item]) -> str:
        kind = call.capability.resources.get(name)
        if kind and self.namer and isinstance(node, ast.Constant) and isinstance(node.value, str):
            physical = self.namer(kind, node.value)
            if physical != node.value:
                return repr(physical)
        start, end = self.source.start(node), self.source.end(node)
        inner = sorted((_Edit(c.start, c.end, self._render(c)) for c in children
                        if start <= c.start and c.end <= end), key=lambda e: e.start)
        return _apply(self.source.data, start, end, inner).decode()

    def _import_removals(self) -> list[_Edit]:
        edits = []
        removed = set(map(id, self.analysis.imports))
        for stmt in self.analysis.imports:
            kept = [a for a in stmt.names if isinstance(stmt, ast.Import) and not _is_sdk(a.name)]
            if kept:
                text = ast.unparse(ast.Import(names=kept)).encode()
                edits.append(_Edit(self.source.start(stmt), self.source.end(stmt), text))
            else:
                edits.append(self._remove_statement(stmt, removed))
        return edits

    def _remove_statement(self, stmt: ast.stmt, removed: set[int]) -> _Edit:
        start, end = self.source.start(stmt), self.source.end(stmt)
        data = self.source.data
        siblings = _sibling_statements(stmt, self.analysis.parents)
        if siblings and siblings[0] is stmt and all(id(s) in removed for s in siblings):
            return _Edit(start, end, b"pass")
        line_start = self.source.line_starts[stmt.lineno - 1]
        line_end = self.source.line_end(end)
        before, after = data[line_start:start], data[end:line_end].strip()
        if not before.strip() and (not after or after.startswith(b"#")):
            last_end = self.source.line_end(end)
            return _Edit(line_start, last_end, b"")
        if after.startswith(b";"):
            semicolon = data.index(b";", end) + 1
            while semicolon < len(data) and data[semicolon:semicolon + 1] in b" \t":
                semicolon += 1
            return _Edit(start, semicolon, b"")
        if before.rstrip().endswith(b";"):
            return _Edit(data.rindex(b";", line_start, start), end, b"")
        return _Edit(start, end, b"pass")

    def _insertions(self, tree: ast.Module) -> list[_Edit]:
        body = tree.body
        index = 0
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            index = 1
        for statement in body[index:]:
            if not (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
                break
            index += 1
        blocks = "\n\n".join(self._shield_builtins(self.assembly.block_sources()))
        imports = "".join(f"{s}\n" for s in self.assembly.import_statements())
        data = self.source.data
        if index == len(body):
            at = self.source.line_end(self.source.end(body[-1])) if body else 0
            prefix = "" if at == 0 or data[:at].endswith((b"\n", b"\r")) else "\n"
            return [self._insert(at, prefix + imports + "\n\n" + blocks)]
        first = body[index]
        line_start = self.source.line_starts[first.lineno - 1]
        at = line_start if not data[line_start:self.source.start(first)].strip() \
            else self.source.line_end(self.source.end(first))
        if index and not isinstance(first, (ast.Import, ast.ImportFrom)):
            # Right under the docstring, so comments above `first` stay with it.
            at = self.source.line_end(self.source.end(body[index - 1]))
        setup_at = at
        if isinstance(first, (ast.Import, ast.ImportFrom)):
            last = index
            while last + 1 < len(body) and isinstance(body[last + 1], (ast.Import, ast.ImportFrom)):
                last += 1
            setup_at = max(at, self.source.line_end(self.source.end(body[last])))
            if not self._only_imports_before(body[index:], setup_at):
                setup_at = at
        if not self._only_imports_before(body[index:], at):
            self.result.diagnostics.append(self.source.diagnostic(self.path, first, "placement",
                "the generated setup must run before this line, which holds several statements; "
                "put the imports on lines of their own"))
            return []
        if setup_at == at:
            lead = "\n\n" if imports else self._padding(at, -1) if at else ""
            return [self._insert(at, imports + lead + blocks + self._padding(at, 1))]
        return [self._insert(at, imports), self._insert(
            setup_at, self._padding(setup_at, -1) + blocks + self._padding(setup_at, 1))]

    def _shield_builtins(self, blocks: list[str]) -> list[str]:
        """Make the hoisted code reach builtins through `builtins` where the module rebinds them
        (`def open(...)`, `list = ...`, `from os import *`): module globals would win otherwise."""
        shadowed = self.analysis.module_bound & _BUILTINS
        if not shadowed and not self.analysis.star_import:
            return blocks
        out = []
        for text in blocks:
            tree = ast.parse(text)
            local = _bound_names(tree)
            loads = [n for n in ast.walk(tree) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Load) and n.id in _BUILTINS and n.id not in local
                     and (n.id in shadowed or self.analysis.star_import)]
            if not loads:
                out.append(text)
                continue
            module = self.assembly.bind_import(ImportSpec("builtins", None, "builtins"))
            data = text.encode()
            starts = find_line_starts(data)
            edits = sorted((_Edit(starts[n.lineno - 1] + n.col_offset,
                                  starts[n.lineno - 1] + n.col_offset + len(n.id),
                                  f"{module}.{n.id}".encode()) for n in loads),
                           key=lambda e: e.start)
            out.append(_apply(data, 0, len(data), edits).decode())
        return out

    def _only_imports_before(self, statements: list[ast.stmt], offset: int) -> bool:
        """Whether only imports would run before code inserted at `offset`."""
        return all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in statements
                   if self.source.start(s) < offset)

    def _padding(self, offset: int, step: int) -> str:
        """Newlines that leave two blank lines between code inserted at `offset` (a line start)
        and the code after it (step 1) or before it (step -1), not counting removed lines."""
        data, starts = self.source.data, self.source.line_starts
        line = bisect.bisect_right(starts, offset) - 1 + min(step, 0)
        blank = 0
        while blank < 2 and 0 <= line < len(starts) and starts[line] < len(data):
            start = starts[line]
            end = starts[line + 1] if line + 1 < len(starts) else len(data)
            if not any(a <= start and end <= b for a, b in self.removed):
                if data[start:end].strip():
                    break
                blank += 1
            line += step
        return "\n" * (2 - blank)

    def _insert(self, offset: int, text: str) -> _Edit:
        return _Edit(offset, offset, text.replace("\n", self.source.newline).encode())


@dataclass
class _Item:
    start: int
    end: int
    use: CallSite | SymbolRef
    children: list[_Item] = field(default_factory=list)


def _nest(items: list[_Item]) -> list[_Item]:
    """Arrange items by containment; return the outermost ones."""
    top: list[_Item] = []
    stack: list[_Item] = []
    for item in sorted(items, key=lambda i: (i.start, -i.end)):
        while stack and stack[-1].end <= item.start:
            stack.pop()
        (stack[-1].children if stack else top).append(item)
        stack.append(item)
    return top


def _apply(data: bytes, start: int, end: int, edits: list[_Edit]) -> bytes:
    out, position = [], start
    for edit in edits:
        if edit.start < position:
            raise EngineError("overlapping rewrites")
        out += [data[position:edit.start], edit.text]
        position = edit.end
    out.append(data[position:end])
    return b"".join(out)


def _substitute(rendered: str, texts: dict[str, str], operation: str) -> str:
    """Put argument source into the rendered template, parenthesised where precedence needs it."""
    try:
        tree = ast.parse(rendered.strip(), mode="eval")
    except SyntaxError as exc:
        raise EngineError(f"the {operation} rule renders invalid Python: {exc.msg}") from None
    text = rendered.strip()
    data = text.encode()
    starts = find_line_starts(data)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    slots: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id.startswith("__infrar_arg_")):
            continue
        name = node.id[len("__infrar_arg_"):-2]
        if name in seen:
            raise EngineError(f"the {operation} rule uses argument {name!r} twice")
        seen.add(name)
        argument = texts[name]
        if _needs_parentheses(node, parents, argument):
            argument = f"({argument})"
        start = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[operator]
        slots.append((start, end, argument))
    out = _apply(data, 0, len(data), [_Edit(s, e, a.encode()) for s, e, a in sorted(slots)])
    if not isinstance(tree.body, _ATOMIC):
        return f"({out.decode()})"
    return out.decode()


def _needs_parentheses(node: ast.Name, parents: dict[ast.AST, ast.AST], argument: str) -> bool:
    parent = parents.get(node)
    if isinstance(parent, (ast.Call, ast.keyword, ast.List, ast.Tuple, ast.Set, ast.Dict)):
        if isinstance(parent, ast.Call) and parent.func is node:
            return not _atomic_text(argument)
        # `ast` positions leave out the parentheses these need even in an argument list.
        return isinstance(_parse_argument(argument), (ast.NamedExpr, ast.Yield, ast.YieldFrom))
    return not _atomic_text(argument)


def _parse_argument(argument: str) -> ast.expr | None:
    try:
        return ast.parse(f"({argument})", mode="eval").body
    except SyntaxError:
        return None


def _atomic_text(argument: str) -> bool:
    return isinstance(_parse_argument(argument), _ATOMIC) and not re.search(r"[\r\n]", argument)


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _is_sdk(module: str) -> bool:
    return module == "infrar" or module.startswith("infrar.")


def _sibling_statements(stmt: ast.stmt, parents: dict[ast.AST, ast.AST]) -> list[ast.stmt]:
    parent = parents.get(stmt)
    if parent is None or isinstance(parent, ast.Module):
        return []
    for field_name in ("body", "orelse", "finalbody"):
        statements = getattr(parent, field_name, None)
        if isinstance(statements, list) and any(s is stmt for s in statements):
            return statements
    return []
