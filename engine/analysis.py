"""Find every use of the SDK in a module, with Python's own parser and scope rules.

CPython's `ast` gives exact positions at C speed; resolving names ourselves keeps analysis a
small fraction of a parse (libcst's scope metadata costs several parses per file).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

from infrar.engine.capabilities import PACKAGE, Capability, module_names, symbol_table
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.source import MARKER, TOO_COMPLEX, Source, SourceError, mentions

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_AMBIGUOUS = "<ambiguous>"


@dataclass
class Scope:
    node: ast.AST
    parent: Scope | None
    bound: set[str] = field(default_factory=set)
    sdk: dict[str, str] = field(default_factory=dict)
    tree_modules: dict[str, str] = field(default_factory=dict)
    """Names bound by `import X [as m]` of other modules, which may re-export SDK names."""
    plain_package: bool = False
    """Whether `import infrar[.x]` without `as` binds the package under its own name here."""
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    @property
    def is_comprehension(self) -> bool:
        return isinstance(self.node, _COMPREHENSIONS)


@dataclass(frozen=True)
class CallSite:
    node: ast.Call
    capability: Capability
    operation: str
    arguments: dict[str, ast.expr]
    in_fstring: bool


@dataclass(frozen=True)
class SymbolRef:
    node: ast.expr
    capability: Capability
    symbol: str


@dataclass
class Analysis:
    calls: list[CallSite] = field(default_factory=list)
    symbols: list[SymbolRef] = field(default_factory=list)
    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    problems: list[tuple[ast.AST, str, str]] = field(default_factory=list)
    package_names: list[ast.Name] = field(default_factory=list)
    """Loads of the name `infrar` bound by `import infrar[.x]` (without `as`)."""
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    module_bound: set[str] = field(default_factory=set)
    """Names the module binds at module level (they shadow builtins for hoisted code)."""
    star_import: bool = False
    """Whether a `from <other module> import *` may bind names we cannot know."""
    module_sdk: dict[str, str] = field(default_factory=dict)
    """Module-level names bound to SDK names (what the module re-exports)."""
    module_package: bool = False
    """Whether `import infrar[.x]` (without `as`) binds `infrar` in the module's globals."""

    def problem(self, node: ast.AST, code: str, message: str) -> None:
        self.problems.append((node, code, message))


@dataclass
class ParsedModule:
    """A module read, parsed and analysed; `diagnostics` holds what stops further work."""

    source: Source | None
    tree: ast.Module | None
    analysis: Analysis
    diagnostics: list[Diagnostic]


ReExport = Callable[[str | None, int, str], "str | None"]
"""(module as written, relative level, name) -> the SDK name that module binds it to, or None:
how `from .store import read` is known to import the SDK's `read` through another module."""


def read_module(data: bytes, path: str, reexport: ReExport | None = None, *,
                markers: tuple[bytes, ...] = (MARKER,)) -> ParsedModule | None:
    """None when `data` cannot mention the SDK (contains none of `markers`); otherwise the
    analysed module."""
    if not mentions(data, markers):
        return None
    try:
        source = Source.decode(data)
        tree = source.parse(path)
    except SourceError as exc:
        problem = Diagnostic(path, exc.line, exc.col, exc.code, exc.message)
        return ParsedModule(None, None, Analysis(), [problem])
    try:
        analysis = analyse(tree, reexport)
    except RecursionError:
        problem = Diagnostic(path, 1, 1, "too-complex", TOO_COMPLEX)
        return ParsedModule(None, None, Analysis(), [problem])
    diagnostics = [source.diagnostic(path, node, code, message)
                   for node, code, message in analysis.problems]
    return ParsedModule(source, tree, analysis, diagnostics)


def analyse(tree: ast.Module, reexport: ReExport | None = None) -> Analysis:
    result = Analysis()
    builder = _ScopeBuilder(result, reexport)
    builder.visit(tree)
    result.module_bound = builder.module.bound | builder.global_names
    result.module_sdk = {n: q for n, q in builder.module.sdk.items()
                         if n not in builder.module.bound}
    result.module_package = builder.module.plain_package and PACKAGE not in builder.module.bound
    table = symbol_table()
    modules = module_names()
    for name_node, scope in builder.loads:
        target, owner = _lookup(scope, name_node.id)
        if target == PACKAGE and owner is not None and owner.plain_package \
                and name_node.id == PACKAGE:
            result.package_names.append(name_node)
        if target is None and owner is not None and name_node.id in owner.tree_modules:
            _through_module(name_node, owner.tree_modules[name_node.id], reexport, result,
                            table, modules)
        elif target == _AMBIGUOUS:
            result.problem(name_node, "rebound-name",
                           f"`{name_node.id}` is imported from {PACKAGE} and also rebound in the "
                           "same scope; rename one of them")
        elif target is not None:
            _classify(name_node, target, result, table, modules)
    return result


def _through_module(node: ast.Name, module: str, reexport: ReExport | None, result: Analysis,
                    table: dict[str, tuple[Capability, str]], modules: set[str]) -> None:
    """`store.read(...)` where `import store` names a module of the tree that re-exports the
    SDK's `read`: a use of the SDK like any other."""
    parent = result.parents.get(node)
    if reexport is None or not (isinstance(parent, ast.Attribute) and parent.value is node):
        return
    qualname = reexport(module, 0, parent.attr)
    if qualname == _AMBIGUOUS:
        result.problem(parent, "rebound-name",
                       f"`{parent.attr}` stands for two names of {PACKAGE} in `{module}`; "
                       "rename one of them there")
    elif qualname is not None:
        _classify(parent, qualname, result, table, modules)


def _lookup(scope: Scope, name: str) -> tuple[str | None, Scope | None]:
    """The SDK qualified name `name` stands for in `scope`, and the scope binding it."""
    current: Scope | None = scope
    if name in scope.declared_global:
        outermost = scope
        while outermost.parent is not None:
            outermost = outermost.parent
        current = outermost
    first = True
    while current is not None:
        visible = first or not current.is_class
        declared = name in current.declared_nonlocal or name in current.declared_global
        if visible and not declared:
            if name in current.sdk:
                return (_AMBIGUOUS if name in current.bound else current.sdk[name]), current
            if name in current.bound:
                return None, current
        first = False
        current = current.parent
    return None, None


def _classify(node: ast.expr, target: str, result: Analysis,
              table: dict[str, tuple[Capability, str]], modules: set[str]) -> None:
    expr: ast.expr = node
    qualname = target
    while qualname not in table:
        parent = result.parents.get(expr)
        if not (isinstance(parent, ast.Attribute) and parent.value is expr):
            break
        qualname = f"{qualname}.{parent.attr}"
        expr = parent
    if qualname in table:
        capability, public = table[qualname]
        if public in capability.classes:
            result.symbols.append(SymbolRef(expr, capability, public))
        else:
            _call_site(expr, capability, public, result)
    elif qualname in modules:
        result.problem(expr, "dynamic-use",
                       f"`{qualname}` is used as a value; only direct calls such as "
                       f"`{qualname}.<operation>(...)` can be rewritten")
    else:
        result.problem(expr, "unknown-name", f"`{qualname}` is not part of the Infrar SDK")


def _call_site(expr: ast.expr, capability: Capability, operation: str, result: Analysis) -> None:
    parent = result.parents.get(expr)
    qual = f"{capability.qualname}.{operation}"
    if not (isinstance(parent, ast.Call) and parent.func is expr):
        result.problem(expr, "dynamic-use",
                       f"`{qual}` is used as a value; only direct calls can be rewritten")
        return
    if any(isinstance(a, ast.Starred) for a in parent.args) or any(
        k.arg is None for k in parent.keywords
    ):
        result.problem(parent, "unpacked-arguments",
                       f"`{qual}` is called with *args or **kwargs; pass arguments explicitly")
        return
    try:
        bound = capability.signature(operation).bind(
            *parent.args, **{k.arg: k.value for k in parent.keywords if k.arg}
        )
    except TypeError as exc:
        result.problem(parent, "bad-arguments", f"`{qual}`: {exc}")
        return
    in_fstring = _inside(parent, ast.JoinedStr, result.parents)
    result.calls.append(CallSite(parent, capability, operation, dict(bound.arguments), in_fstring))


def _imported_by_name(call: ast.Call) -> str | None:
    """The SDK module that `__import__("infrar.x")` or `importlib.import_module("infrar.x")`
    (also `import_module(".x", "infrar")`) names with string literals, or None."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else \
        func.attr if isinstance(func, ast.Attribute) else None
    if name not in ("__import__", "import_module"):
        return None
    given = {k.arg: k.value for k in call.keywords if k.arg}
    first = call.args[0] if call.args else given.get("name")
    package = call.args[1] if name == "import_module" and len(call.args) > 1 else \
        given.get("package")
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    module = first.value
    if module.startswith(".") and isinstance(package, ast.Constant) \
            and isinstance(package.value, str):
        module = package.value + module  # `infrar` + `.storage`, as import_module resolves it
    return module if module == PACKAGE or module.startswith(PACKAGE + ".") else None


def _inside(node: ast.AST, kind: type, parents: dict[ast.AST, ast.AST]) -> bool:
    current = parents.get(node)
    while current is not None:
        if isinstance(current, kind):
            return True
        current = parents.get(current)
    return False


class _ScopeBuilder(ast.NodeVisitor):
    """One walk: parent links, bindings per scope, SDK imports, and every name load."""

    def __init__(self, result: Analysis, reexport: ReExport | None) -> None:
        self.result = result
        self.reexport = reexport
        self.scope = self.module = Scope(ast.Module(body=[], type_ignores=[]), None)
        self.global_names: set[str] = set()
        self.loads: list[tuple[ast.Name, Scope]] = []
        self.sdk_modules = module_names()

    def generic_visit(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self.result.parents[child] = node
            self.visit(child)

    def _child(self, node: ast.AST, parent: ast.AST) -> None:
        self.result.parents[node] = parent
        self.visit(node)

    def _enter(self, node: ast.AST) -> Scope:
        outer = self.scope
        self.scope = Scope(node, outer)
        return outer

    def visit_Constant(self, node: ast.Constant) -> None:
        """Nothing to resolve; and `ast.NodeVisitor`'s own version is slow (it looks for the
        visitors of the node types that `Constant` replaced)."""

    def visit_Call(self, node: ast.Call) -> None:
        module = _imported_by_name(node)
        if module is not None:
            self.result.problem(node, "dynamic-use",
                                f"`{module}` is imported by name, which cannot be rewritten; "
                                f"use `import {module}`")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.append((node, self.scope))
        else:
            self._bind(node.id, node)

    def _bind(self, name: str, node: ast.AST) -> None:
        self.scope.bound.add(name)
        if name in self._owner(name).sdk:
            self.result.problem(node, "rebound-name",
                                f"`{name}` is imported from {PACKAGE} and rebound here")

    def _owner(self, name: str) -> Scope:
        """The scope a binding of `name` in the current scope assigns to."""
        if name in self.scope.declared_global:
            return self.module
        current = self.scope
        # `nonlocal` at module level is invalid (Python refuses to compile it): a plain binding.
        if name in current.declared_nonlocal and current.parent is not None:
            current = current.parent
            while current.parent is not None and (
                    current.is_class or not (name in current.bound or name in current.sdk)):
                current = current.parent
        return current

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)
        self.global_names.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.declared_nonlocal.update(node.names)

    def visit_Import(self, node: ast.Import) -> None:
        sdk = False
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                sdk = True
                self._check_module(alias.name, node)
                if alias.asname:
                    self._sdk_name(alias.asname, alias.name)
                else:
                    self._sdk_name(PACKAGE, PACKAGE)
                    self._owner(PACKAGE).plain_package = True
            else:
                binding = alias.asname or alias.name.split(".")[0]
                self.scope.bound.add(binding)
                if self.reexport is not None and (alias.asname or "." not in alias.name):
                    self.scope.tree_modules[binding] = alias.name
        if sdk:
            self.result.imports.append(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or not (module == PACKAGE or module.startswith(PACKAGE + ".")):
            for alias in node.names:
                found = self.reexport(node.module, node.level, alias.name) \
                    if self.reexport and alias.name != "*" else None
                if found is not None:
                    self._sdk_name(alias.asname or alias.name, found)
                elif alias.name != "*":
                    self.scope.bound.add(alias.asname or alias.name)
                else:
                    self.result.star_import = True
            return
        self.result.imports.append(node)
        self._check_module(module, node)
        table = symbol_table()
        for alias in node.names:
            if alias.name == "*":
                self._star(module, node, table)
                continue
            qualname = f"{module}.{alias.name}"
            if qualname not in table and qualname not in self.sdk_modules:
                self.result.problem(node, "unknown-name",
                                    f"`{qualname}` is not part of the Infrar SDK")
            self._sdk_name(alias.asname or alias.name, qualname)

    def _star(self, module: str, node: ast.ImportFrom,
              table: dict[str, tuple[Capability, str]]) -> None:
        names = [q.rsplit(".", 1)[1] for q in table if q.rsplit(".", 1)[0] == module]
        if module == PACKAGE or not names:
            self.result.problem(node, "star-import",
                                f"`from {module} import *` cannot be resolved; import the names "
                                "you use explicitly")
        for name in names:
            self._sdk_name(name, f"{module}.{name}")

    def _sdk_name(self, name: str, qualname: str) -> None:
        """`name` stands for the SDK's `qualname` in the scope the import binds it in (the
        module's, after `global name`). Bound there to another SDK name already (`import
        infrar.storage as s` and `import infrar.kv as s`), which of the two a use means depends
        on the order the code runs in: the name is ambiguous."""
        scope = self._owner(name)
        known = scope.sdk.get(name)
        if known is not None and known != qualname:
            table = symbol_table()  # `infrar.storage.errors.X` is `infrar.storage.X`
            same = known in table and qualname in table and table[known] == table[qualname]
            qualname = known if same else _AMBIGUOUS
        scope.sdk[name] = qualname

    def _check_module(self, module: str, node: ast.AST) -> None:
        if module not in self.sdk_modules:
            self.result.problem(node, "unknown-module", f"`{module}` is not an Infrar SDK module")

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self._child(default, node)
        if not isinstance(node, ast.Lambda):
            self._bind(node.name, node)
            for decorator in node.decorator_list:
                self._child(decorator, node)
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    self._child(arg.annotation, node)
            if node.returns is not None:
                self._child(node.returns, node)
        outer = self._enter(node)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                self.result.parents[arg] = node
                self.scope.bound.add(arg.arg)
        body = node.body if isinstance(node.body, list) else [node.body]
        for stmt in body:
            self._child(stmt, node)
        self.scope = outer

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node.name, node)
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self._child(child, node)
        outer = self._enter(node)
        for stmt in node.body:
            self._child(stmt, node)
        self.scope = outer

    def _comprehension(self,
                       node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        first, *rest = node.generators
        self.result.parents[first] = node
        self._child(first.iter, first)
        outer = self._enter(node)
        self._child(first.target, first)
        for cond in first.ifs:
            self._child(cond, first)
        for gen in rest:
            self.result.parents[gen] = node
            self._child(gen.iter, gen)
            self._child(gen.target, gen)
            for cond in gen.ifs:
                self._child(cond, gen)
        elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for element in elements:
            self._child(element, node)
        self.scope = outer

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._child(node.value, node)
        self.result.parents[node.target] = node
        scope = self.scope
        while scope.is_comprehension and scope.parent is not None:
            scope = scope.parent
        scope.bound.add(node.target.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, node)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node.name, node)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name, node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind(node.rest, node)
        self.generic_visit(node)

