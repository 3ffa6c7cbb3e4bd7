"""Properties over generated programs and YAML documents: the engine transforms a valid module
correctly or refuses it with a diagnostic at file:line:col, never raises, never skips an SDK
use silently; configuration either loads or gives a YamlError/ConfigError with file:line.

Programs come from a grammar of statements, each knowing what the engine must make of it:

- imports of every capability in every form (plain, `as`, `from infrar import x [as y]`,
  names with and without aliases, `*`, submodules, parentheses, continuations, odd spacing);
- calls in every context (assignments, functions, class bodies, comprehensions, lambdas,
  f-strings, decorators, defaults, conditions, nested calls, multi-line with comments) with
  literal, constant (`NAME = "x"`, `Final`) and dynamic resource names;
- ordinary code that mentions `infrar` in strings, comments, attributes, keywords and
  relative imports, or spells it in other scripts;
- refusals: getattr, functions and modules as values, `*args`/`**kwargs`, wrong arguments,
  names the SDK lacks, `from infrar import *`, rebinding in every form, SDK names bound twice,
  imports by name (`importlib.import_module`, `__import__`), a clash with the native name;
- breaks: syntax errors, NUL, invalid UTF-8, an encoding declaration that reads otherwise,
  nesting too deep; and arbitrary bytes mixed with all of the above.

A program without refusals must come out exactly as the grammar says (only import module names
and loads of a plain `infrar` change), with every call detected and its resources named; one
with refusals must be refused with a diagnostic on a refusing line; a break gives exactly its
diagnostic. Every program also goes through the shared invariants (engine_invariants.py).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_invariants import check_source
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from yaml_invariants import check_yaml

from infrar.engine.capabilities import Capability, known_capabilities, load_capability
from infrar.engine.detect import detect_source
from infrar.engine.native import PACKAGE as NATIVE

CAPS: dict[str, Capability] = {name: load_capability(name) for name in known_capabilities()}
CAP_NAMES = sorted(n for n, c in CAPS.items() if c.functions)
ALIASES = ["s", "st", "store", "api", "cloud", "svc", "lib"]


def bounded(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def _submodules(cap: Capability) -> dict[str, str]:
    """Class -> the submodule of the capability that defines it (`errors`, `types`)."""
    return {name: cls.__module__.rsplit(".", 1)[1] for name, cls in cap.classes.items()
            if cls.__module__.count(".") >= 2}


# --- the pieces of a program ------------------------------------------------------------------

@dataclass
class Segment:
    """Whole lines of a program, and what the engine must make of them."""

    text: str
    expected: str | None = None
    """The output's text for these lines (None: unchanged)."""
    uses: list[tuple[str, str, dict[str, str | None]]] = field(default_factory=list)
    """(capability, operation, resources) of each SDK call in these lines."""
    refusal: str = ""
    """Why the engine must refuse the program, when it must; "transform": only transform
    refuses (a name clash with the native package, a `{...=}` f-string)."""
    reported_here: bool = True
    """Whether the refusal is reported on these lines (a rebinding by `import x as name`
    is reported at the uses of the name)."""
    sdk: bool = False
    """Whether these lines name the SDK (a diagnostic may point at them)."""

    @property
    def output(self) -> str:
        return self.text if self.expected is None else self.expected


@dataclass(frozen=True)
class Binding:
    """An import statement and how code calls the SDK through the names it binds."""

    capability: str
    source: str
    expected: str
    prefix: str
    """`alias.` or `infrar.storage.` for module bindings; "" for names."""
    names: dict[str, str]
    """SDK public name -> the name it is bound to (name bindings)."""
    binds: frozenset[str]
    plain: bool = False
    """Whether the statement binds `infrar` itself (a plain `import infrar[.x]`)."""

    def callee(self, public: str) -> str:
        return self.names[public] if not self.prefix else self.prefix + public

    def expected_callee(self, public: str) -> str:
        text = self.callee(public)
        return NATIVE + text[len("infrar"):] if self.plain else text

    def calls(self) -> list[str]:
        cap = CAPS[self.capability]
        return [f for f in sorted(cap.functions) if self.prefix or f in self.names]


@st.composite
def bindings(draw: st.DrawFn, taken: set[str], star_allowed: bool) -> Binding:
    cap_name = draw(st.sampled_from(CAP_NAMES))
    cap = CAPS[cap_name]
    free = [a for a in ALIASES if a not in taken]
    alias = draw(st.sampled_from(free)) if free else f"alias_{len(taken)}"
    style = draw(st.integers(0, 13))
    full = f"infrar.{cap_name}"
    native = f"{NATIVE}.{cap_name}"
    subs = sorted(set(_submodules(cap).values()))
    if style == 0 or (style == 11 and not subs):
        return Binding(cap_name, f"import {full}\n", f"import {native}\n", f"{full}.", {},
                       frozenset({"infrar"}), plain=True)
    if style == 1:
        return Binding(cap_name, f"import {full} as {alias}\n", f"import {native} as {alias}\n",
                       f"{alias}.", {}, frozenset({alias}))
    if style == 2 and cap_name not in taken:
        return Binding(cap_name, f"from infrar import {cap_name}\n",
                       f"from {NATIVE} import {cap_name}\n", f"{cap_name}.", {},
                       frozenset({cap_name}))
    if style in (2, 3):
        return Binding(cap_name, f"from infrar import {cap_name} as {alias}\n",
                       f"from {NATIVE} import {cap_name} as {alias}\n", f"{alias}.", {},
                       frozenset({alias}))
    if style == 4:
        return Binding(cap_name, "import infrar\n", f"import {NATIVE}\n", f"{full}.", {},
                       frozenset({"infrar"}), plain=True)
    public = sorted([*cap.functions, *cap.classes])
    if style == 5 and star_allowed and not (set(public) & taken):
        return Binding(cap_name, f"from {full} import *\n", f"from {native} import *\n", "",
                       {p: p for p in public}, frozenset(public))
    if style == 11:
        sub = draw(st.sampled_from(subs))
        return Binding(cap_name, f"import {full}.{sub}\n", f"import {native}\n", f"{full}.", {},
                       frozenset({"infrar"}), plain=True)
    if style in (12, 13):  # bound in the module's globals from inside a function
        n = len(taken)
        if style == 12:
            return Binding(cap_name, f"def setup_{n}():\n    global {alias}\n    import {full} as "
                           f"{alias}\n", f"def setup_{n}():\n    global {alias}\n    import "
                           f"{native} as {alias}\n", f"{alias}.", {}, frozenset({alias}))
        return Binding(cap_name, f"def setup_{n}():\n    global infrar\n    import {full}\n",
                       f"def setup_{n}():\n    global infrar\n    import {native}\n",
                       f"{full}.", {}, frozenset({"infrar"}), plain=True)
    if style == 6:  # odd spacing and a continuation between module and `import`
        spacing = draw(st.sampled_from([("from  ", "  import "), ("from\t", " \\\n    import "),
                                        ("from ", " import ")]))
        functions = [f for f in sorted(cap.functions) if f not in taken]
        assume(functions)
        chosen = draw(st.sampled_from(functions))
        return Binding(cap_name, f"{spacing[0]}{full}{spacing[1]}{chosen}\n",
                       f"{spacing[0]}{native}{spacing[1]}{chosen}\n", "", {chosen: chosen},
                       frozenset({chosen}))
    if style == 7:
        return Binding(cap_name, f"import {full} as {alias}, json\n",
                       f"import {native} as {alias}, json\n", f"{alias}.", {},
                       frozenset({alias, "json"}))
    # names, some under aliases, on one line or in parentheses
    available = [p for p in sorted(cap.functions) if p not in taken and f"{p}_fn" not in taken]
    assume(available)
    chosen_names = draw(st.lists(st.sampled_from(available), min_size=1, max_size=4,
                                 unique=True))
    names = {p: draw(st.sampled_from([p, f"{p}_fn"])) for p in chosen_names}
    listed = [p if n == p else f"{p} as {n}" for p, n in names.items()]
    if style in (8, 9):
        body = ", ".join(listed)
        return Binding(cap_name, f"from {full} import {body}\n", f"from {native} import {body}\n",
                       "", names, frozenset(names.values()))
    body = "".join(f"    {item},  # {item}\n" for item in listed)
    return Binding(cap_name, f"from {full} import (\n{body})\n",
                   f"from {native} import (\n{body})\n", "", names, frozenset(names.values()))


# --- arguments --------------------------------------------------------------------------------

@dataclass
class Program:
    """What the parts drawn so far need: constants at module level and fresh names."""

    constants: list[str] = field(default_factory=list)
    counter: int = 0

    def fresh(self) -> int:
        self.counter += 1
        return self.counter


PLAIN_VALUES = ["'text'", "key", "b'bytes'", "None", "10", "{'owner': 'ana'}", "payload",
                "f'{key}/part'", "names[0]", "str(key).lower()", "'a' 'b'", "(k := 'walrus')"]
DYNAMIC_NAMES = ["name_var", "cfg['bucket']", "f'{env}-photos'", "get_name()", "obj.attr",
                 "'x' if flag else 'y'", "NAMES[0]"]


@st.composite
def arguments(draw: st.DrawFn, cap: Capability, operation: str, program: Program,
              quote_free: bool) -> tuple[list[str], dict[str, str | None]]:
    """The arguments of one call, and the resources detection must name from them."""
    parts: list[str] = []
    resources: dict[str, str | None] = {}
    keyword = False
    for name, param in cap.signature(operation).parameters.items():
        required = param.default is inspect.Parameter.empty
        if not required and not draw(st.booleans()):
            keyword = True  # a parameter left out: the following ones by keyword
            continue
        if name in cap.resources:
            how = draw(st.sampled_from(["literal", "constant", "final", "dynamic", "concat"]))
            value = f"res-{program.fresh()}"
            if how == "literal":
                text, resources[name] = f"'{value}'", value
            elif how == "concat":
                text, resources[name] = f"'{value}' '-x'", f"{value}-x"
            elif how in ("constant", "final"):
                constant = f"NAME_{program.fresh()}"
                annotation = ": Final" if how == "final" else ""
                program.constants.append(f"{constant}{annotation} = '{value}'\n")
                text, resources[name] = constant, value
            else:
                text, resources[name] = draw(st.sampled_from(DYNAMIC_NAMES)), None
        else:
            text = draw(st.sampled_from(PLAIN_VALUES))
        if quote_free and '"' in text:
            text = "key"
        keyword = keyword or param.kind is inspect.Parameter.KEYWORD_ONLY or draw(st.booleans())
        parts.append(f"{name}={text}" if keyword else text)
    return parts, resources


# --- calls in every context -------------------------------------------------------------------

CONTEXTS = ["bare", "assign", "function", "class", "comprehension", "fstring", "lambda",
            "async", "decorator", "default", "condition", "with", "nested", "multiline",
            "local_import", "semicolon"]


@st.composite
def call_segment(draw: st.DrawFn, binding: Binding, program: Program) -> Segment:
    cap = CAPS[binding.capability]
    operation = draw(st.sampled_from(binding.calls()))
    context = draw(st.sampled_from(CONTEXTS))
    args, resources = draw(arguments(cap, operation, program, quote_free=context == "fstring"))
    use = (binding.capability, operation, resources)
    n = program.fresh()
    if context == "local_import":
        alias = f"local_{n}"
        text = (f"def local_{n}(key):\n    import infrar.{binding.capability} as {alias}\n"
                f"    return {alias}.{operation}({', '.join(args)})\n")
        return Segment(text, text.replace("import infrar.", f"import {NATIVE}."), [use], sdk=True)

    def call(callee: str) -> str:
        return f"{callee}({', '.join(args)})"

    def shape(callee: str) -> tuple[str, int]:
        c = call(callee)
        if context == "bare":
            return f"{c}\n", 1
        if context == "assign":
            return f"r_{n} = {c}\n", 1
        if context == "function":
            return f"def f_{n}(key):\n\treturn {c}\n", 1
        if context == "class":
            return f"class K_{n}:\n    value = {c}\n", 1
        if context == "comprehension":
            return f"r_{n} = [{c} for key in names if key]\n", 1
        if context == "fstring":
            return f'r_{n} = f"<{{{c}}}>"\n', 1
        if context == "lambda":
            return f"r_{n} = lambda key: {c}\n", 1
        if context == "async":
            return f"async def a_{n}(key):\n    return await {c}\n", 1
        if context == "decorator":
            return f"@decorate({c})\ndef d_{n}():\n    pass\n", 1
        if context == "default":
            return f"def g_{n}(x={c}):\n    return x\n", 1
        if context == "condition":
            return f"if {c}:\n    pass\nelif flag:\n    pass\n", 1
        if context == "with":
            return f"with ctx({c}) as w_{n}:\n    pass\n", 1
        if context == "nested":
            return f"print(len(str({c})), {c})\n", 2
        if context == "semicolon":
            return f"r_{n} = 1; {c}\n", 1
        lines = "".join(f"\n    {a},  # argument" for a in args)
        return f"r_{n} = {callee}({lines}\n)\n", 1

    text, count = shape(binding.callee(operation))
    expected, _ = shape(binding.expected_callee(operation))
    return Segment(text, expected, [use] * count, sdk=True)


@st.composite
def symbol_segment(draw: st.DrawFn, binding: Binding) -> Segment:
    """An exception class or value type through a module binding, also through the submodule
    that defines it (`s.errors.StorageError` becomes `s.StorageError`)."""
    cap = CAPS[binding.capability]
    subs = _submodules(cap)
    assume(binding.prefix and subs)
    public = draw(st.sampled_from(sorted(subs)))
    through = draw(st.booleans())
    written = f"{binding.prefix}{subs[public]}.{public}" if through else binding.prefix + public
    native = binding.expected_callee(public)
    text = f"try:\n    pass\nexcept ({written}, ValueError):\n    pass\n"
    return Segment(text, text.replace(written, native), sdk=True)


# --- ordinary code ----------------------------------------------------------------------------

ORDINARY = [
    "v_{n} = {number}\n",
    "v_{n} = 'import infrar.storage as s'  # infrar in a string\n",
    "def func_{n}(a, b={number}):\n    '''infrar.storage.read(\"b\", \"k\")'''\n    return a + b\n",
    "class Klass_{n}:\n    label = 'infrar'\n\n    def method(self):\n        return self.label\n",
    "for v_{n} in range(3):\n    pass\nelse:\n    pass\n",
    "try:\n    v_{n} = int('x')\nexcept ValueError as err_{n}:\n    v_{n} = None\n"
    "finally:\n    pass\n",
    "import json\n", "import os.path as infrar_path_{n}\n",
    "from collections import OrderedDict\n",
    "def look_{n}(obj):\n    from .infrar import storage as rel_{n}\n"
    "    return obj.infrar, dict(infrar=1), rel_{n}\n",
    "v_{n} = getattr(obj, 'read')  # not the SDK\n",
    "# infrar: a comment\n\n",
    'v_{n} = """\nimport infrar.storage\n"""\n',
    "match command_{n}:\n    case {{'infrar': x}}:\n        pass\n"
    "    case [*rest]:\n        pass\n",
    "caf\u00e9_{n} = '\u00e9t\u00e9 \U0001f680'\n",
    "v_{n} = 1 + \\\n    2\n",
    "\x0cv_{n} = 0\n",
    "if True:\n\tv_{n} = 'tab indented'\n",
    "with open('f') as fh_{n}, open('g') as gh_{n}:\n    pass\n",
    "v_{n} = [x for x in range(3) if (y_{n} := x)]\n",
    "def gen_{n}():\n    yield from range(3)\n",
    "async def co_{n}():\n    async with lock:\n        async for item in stream:\n"
    "            await item\n",
    "v_{n}: int = 0\n",
    "global_{n} = {{'a': [1, (2, 3)], **extra}}\n",
    "v_{n} = lambda *a, **k: (a, k)\n",
    "v_{n} = f'{{value!r:>{{width}}}}'\n",
    "del something_{n}\n",
    "assert v_{n}_guard, 'infrar'\n",
]


@st.composite
def ordinary(draw: st.DrawFn, program: Program) -> Segment:
    template = draw(st.sampled_from(ORDINARY))
    return Segment(template.format(n=program.fresh(), number=draw(st.integers(-5, 10**20))))


# --- what the engine must refuse --------------------------------------------------------------

MODULE_ONLY = ("getattr", "unknown_op", "module_value")
REFUSALS = ["getattr", "value", "star_args", "kwargs", "missing", "unknown_keyword",
            "unknown_op", "unknown_import", "unknown_module", "package_star", "rebind_assign",
            "rebind_loop", "rebind_def", "rebind_class", "rebind_with", "rebind_walrus",
            "rebind_del", "rebind_except", "rebind_global", "rebind_import", "import_module",
            "dunder_import", "sdk_twice", "module_value", "name_clash", "self_documenting"]


@st.composite
def refusal(draw: st.DrawFn, binding: Binding, program: Program, others: list[Binding]
            ) -> Segment:
    cap = CAPS[binding.capability]
    n = program.fresh()
    operation = draw(st.sampled_from(binding.calls()))
    callee = binding.callee(operation)
    args, _ = draw(arguments(cap, operation, program, quote_free=False))
    plain = next((b for b in [binding, *others] if b.plain), None)
    kinds = [k for k in REFUSALS if (binding.prefix or k not in MODULE_ONLY)
             and (plain is not None or k not in ("name_clash", "self_documenting"))
             and not (k == "sdk_twice" and binding.plain)]
    kind = draw(st.sampled_from(kinds))
    if binding.plain:
        bound = "infrar"
    elif binding.prefix:
        bound = binding.prefix.split(".")[0]
    else:
        bound = draw(st.sampled_from(sorted(binding.binds)))
    module = binding.prefix.rstrip(".")
    simple = {
        "getattr": f"f_{n} = getattr({module}, '{operation}')\n",
        "value": f"handlers_{n} = [{callee}]\n",
        "star_args": f"{callee}(*args_{n})\n",
        "kwargs": f"{callee}(**kwargs_{n})\n",
        "missing": f"r_{n} = {callee}()\n",
        "unknown_keyword": f"r_{n} = {callee}({', '.join([*args, 'colour_x=1'])})\n",
        "unknown_op": f"r_{n} = {binding.prefix}nonexistent_{n}('x')\n",
        "unknown_import": f"from infrar.{binding.capability} import nonexistent_{n}\n",
        "unknown_module": f"import infrar.nothing_{n}\n",
        "package_star": "from infrar import *\n",
        "module_value": f"register_{n}(backend={module})\n",
        "rebind_assign": f"{bound} = None\n",
        "rebind_loop": f"for {bound} in []:\n    pass\n",
        "rebind_def": f"def {bound}():\n    pass\n",
        "rebind_class": f"class {bound}:\n    pass\n",
        "rebind_with": f"with ctx() as {bound}:\n    pass\n",
        "rebind_del": f"del {bound}\n",
        "rebind_except": f"try:\n    pass\nexcept OSError as {bound}:\n    pass\n",
        "rebind_global": f"def reset_{n}():\n    global {bound}\n    {bound} = None\n",
        "import_module": f"m_{n} = importlib.import_module('infrar.{binding.capability}')\n",
        "dunder_import": f"m_{n} = __import__('infrar.{binding.capability}')\n",
    }
    if kind in simple:
        return Segment(simple[kind], refusal=kind, sdk=True)
    if kind == "rebind_import":  # reported where the name is used, as `:=` is
        return Segment(f"import os as {bound}\nprint({bound})\n", refusal=kind,
                       reported_here=False, sdk=True)
    if kind == "rebind_walrus":
        return Segment(f"if ({bound} := 1):\n    print({bound})\n", refusal=kind,
                       reported_here=False, sdk=True)
    if kind == "sdk_twice":
        # The name stands for two SDK names, which one depends on the order the code runs in:
        # reported where it is used, here by an operation both capabilities have.
        pairs = [(c, op) for c in CAP_NAMES if c != binding.capability
                 for op in sorted(set(CAPS[c].functions) & set(cap.functions))
                 if binding.prefix or op in binding.names]
        assume(pairs)
        other, shared = draw(st.sampled_from(pairs))
        shared_args, _ = draw(arguments(cap, shared, program, quote_free=False))
        if binding.prefix:
            statement = f"import infrar.{other} as {bound}"
        else:
            name = binding.names[shared]
            statement = f"from infrar.{other} import {shared}" + (
                f" as {name}" if name != shared else "")
        use = f"{binding.callee(shared)}({', '.join(shared_args)})"
        return Segment(f"{statement}\n{use}\n", refusal=kind, reported_here=False, sdk=True)
    assert plain is not None
    function = sorted(CAPS[plain.capability].functions)[0]
    plain_args, _ = draw(arguments(CAPS[plain.capability], function, program, quote_free=True))
    call = f"{plain.callee(function)}({', '.join(plain_args)})"
    if kind == "name_clash":  # only with a use of the plain `infrar`, which becomes the name
        return Segment(f"{NATIVE} = 'taken'\nr_{n} = {call}\n", refusal="transform", sdk=True)
    return Segment(f'r_{n} = f"{{{call} = }}"\n', refusal="transform", sdk=True)


# --- what breaks reading ----------------------------------------------------------------------

BREAKS = ["nul", "not_utf8", "syntax_equals", "syntax_def", "syntax_string", "syntax_paren",
          "declared_utf7", "declared_latin1", "too_deep"]


def break_segment(kind: str, capability: str) -> Segment:
    if kind == "nul":
        return Segment("v_nul = 'a\x00b'\n", refusal="binary")
    if kind == "not_utf8":
        return Segment("v_bad = 'caf\udce9'\n", refusal="not-utf8")  # byte 0xE9, see encode
    if kind == "syntax_equals":
        return Segment("x = = 1\n", refusal="syntax-error")
    if kind == "syntax_def":
        return Segment("def (:\n    pass\n", refusal="syntax-error")
    if kind == "syntax_string":
        return Segment("x = 'unterminated\n", refusal="syntax-error")
    if kind == "syntax_paren":
        return Segment("x = (1, ]\n", refusal="syntax-error")
    if kind == "too_deep":
        return Segment("x = " + " + ".join(["1"] * 5000) + "\n", refusal="too-complex")
    if kind == "declared_utf7":  # the header: +AGk- spells `i`
        return Segment(f"# coding: utf-7\nimport +AGk-nfrar.{capability} as hidden\n",
                       refusal="not-utf8")
    return Segment(f"# -*- coding: latin-1 -*-\nimport infr\udcaar.{capability} as hidden\n",
                   refusal="not-utf8")


# --- whole programs ---------------------------------------------------------------------------

@dataclass
class Generated:
    segments: list[Segment]
    newline: str
    bom: bool

    def encode(self, text: str) -> bytes:
        data = text.replace("\n", self.newline).encode("utf-8", "surrogateescape")
        return (b"\xef\xbb\xbf" if self.bom else b"") + data

    @property
    def source(self) -> bytes:
        return self.encode("".join(s.text for s in self.segments))

    @property
    def expected(self) -> bytes:
        return self.encode("".join(s.output for s in self.segments))

    def lines_of(self, wanted: Callable[[Segment], bool]) -> set[int]:
        found, line = set(), 1
        for segment in self.segments:
            count = segment.text.count("\n")
            if wanted(segment):
                found.update(range(line, line + max(count, 1)))
            line += count
        return found


@st.composite
def programs(draw: st.DrawFn, refusals: bool, breaks: bool) -> Generated:
    program = Program()
    header: list[Segment] = []
    kind = draw(st.sampled_from(BREAKS)) if breaks else None
    if kind is not None and kind.startswith("declared"):
        header.append(break_segment(kind, draw(st.sampled_from(CAP_NAMES))))
    elif draw(st.booleans()):
        header.append(Segment(draw(st.sampled_from([
            "#!/usr/bin/env python3\n# Copyright: infrar tests\n",
            "# -*- coding: utf-8 -*-\n", "#!/bin/python\n# vim: set fileencoding=utf8 :\n"]))))
    if draw(st.booleans()):
        header.append(Segment('"""Module docstring naming infrar.storage."""\n'))
    if draw(st.booleans()):
        header.append(Segment("from __future__ import annotations\n"))
    header.append(Segment("from typing import Final\nimport importlib\n"))

    taken: set[str] = {"json", "importlib", "Final"}
    chosen: list[Binding] = []
    for _ in range(draw(st.integers(1, 3))):
        binding = draw(bindings(taken, star_allowed=not any(b.source.endswith("*\n")
                                                            for b in chosen)))
        if binding.binds & taken and not binding.plain:
            continue
        taken |= binding.binds
        chosen.append(binding)
    assume(chosen)
    imports = [Segment(b.source, b.expected, sdk=True) for b in chosen]

    body: list[Segment] = []
    for _ in range(draw(st.integers(1, 6))):
        binding = draw(st.sampled_from(chosen))
        if binding.calls():
            body.append(draw(call_segment(binding, program)))
    if draw(st.booleans()):
        symbol = draw(st.sampled_from(chosen))
        if symbol.prefix and _submodules(CAPS[symbol.capability]):
            body.append(draw(symbol_segment(symbol)))
    body += [draw(ordinary(program)) for _ in range(draw(st.integers(0, 6)))]
    if refusals:
        for _ in range(draw(st.integers(1, 2))):
            binding = draw(st.sampled_from(chosen))
            if binding.calls():
                body.append(draw(refusal(binding, program, chosen)))
    if kind is not None and not kind.startswith("declared"):
        body.append(break_segment(kind, chosen[0].capability))
    body = draw(st.permutations(body))
    constants = [Segment(c) for c in program.constants]
    segments = [*header, *imports, *constants, *body]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    # CPython refuses a BOM with a declaration spelled other than `utf-8` ("utf8 with BOM")
    bom = draw(st.booleans()) and "coding" not in "".join(s.text for s in header)
    return Generated(segments, newline, bom)


def _uses(found: list[tuple[str, str, dict[str, str | None]]]) -> list[str]:
    return sorted(repr(u) for u in found)


@bounded(200)
@given(programs(refusals=False, breaks=False))
def test_a_program_without_refusals_is_rewritten_exactly(generated: Generated) -> None:
    source = generated.source
    result = check_source(source, path="generated.py")
    assert result.ok, "\n".join(map(str, result.diagnostics)) + "\n" + source.decode()
    assert result.output == generated.expected, "the output is not what the grammar says"
    found = detect_source(source, path="generated.py")
    expected = [u for s in generated.segments for u in s.uses]
    if any(s.text.endswith(" import *\n") for s in generated.segments):
        # By design any star import, the SDK's too, may bind any name: no constants then.
        constants = {s.text.split(" = ")[1].strip().strip("'")
                     for s in generated.segments if s.text.startswith("NAME_")}
        expected = [(c, o, {k: None if v in constants else v for k, v in r.items()})
                    for c, o, r in expected]
    assert _uses([(u.capability, u.operation, u.resources) for u in found.uses]) == \
        _uses(expected), "a call was not detected, or its resources were misread"


@bounded(200)
@given(programs(refusals=True, breaks=False))
def test_a_program_with_a_refusal_is_refused_on_a_refusing_line(generated: Generated) -> None:
    source = generated.source
    result = check_source(source, path="generated.py")
    detected = detect_source(source, path="generated.py")
    refusals = [s for s in generated.segments if s.refusal]
    analysis = [s for s in refusals if s.refusal != "transform"]
    assert not result.ok and result.output is None, (
        f"not refused ({[s.refusal for s in refusals]}):\n{source.decode()}")
    lines = {d.line for d in result.diagnostics}
    sdk_lines = generated.lines_of(lambda s: s.sdk)
    assert lines <= sdk_lines, f"a diagnostic on ordinary code: {result.diagnostics}"
    # Analysis reports every problem; transform stops at its first (a name clash, `{...=}`).
    groups = [[s] for s in analysis if s.reported_here] if analysis else [refusals]
    for group in groups:
        here = generated.lines_of(lambda s, group=group: s in group)
        assert lines & here, (f"{group[0].refusal} not reported on its lines {sorted(here)}: "
                              f"{result.diagnostics}\n{source.decode()}")
    if analysis:
        assert detected.diagnostics, "detect found no problem where transform refused"
    else:
        assert not detected.diagnostics


@bounded(100)
@given(programs(refusals=False, breaks=True))
def test_a_program_that_cannot_be_read_gives_exactly_its_diagnostic(generated: Generated) -> None:
    source = generated.source
    result = check_source(source, path="generated.py")
    broken = next(s for s in generated.segments if s.refusal)
    assert result.output is None
    assert [d.code for d in result.diagnostics] == [broken.refusal], result.diagnostics
    diagnostic = result.diagnostics[0]
    if broken.refusal == "too-complex":
        assert (diagnostic.line, diagnostic.col) == (1, 1)
    elif broken.text.startswith("# coding: utf-7"):
        pass  # at the declaration, or at the first byte utf-7 cannot read (`é`, a backslash)
    else:
        assert diagnostic.line in generated.lines_of(lambda s: s is broken), diagnostic
    if broken.refusal == "binary" or (broken.refusal == "not-utf8" and b"\xe9" in source):
        bad = next(i for i, line in enumerate(source.splitlines())
                   if b"\x00" in line or b"\xe9" in line)
        assert diagnostic.line == bad + 1
    assert detect_source(source, path="generated.py").diagnostics == result.diagnostics


# --- arbitrary bytes --------------------------------------------------------------------------

SNIPPETS = [
    b"import infrar.storage as s\n", b"from infrar.storage import read\n", b"import infrar\n",
    b"from infrar import storage\n", b"from infrar.storage import *\n", b"s.read('b', 'k')\n",
    b"read(B, k)\n", b"infrar.storage.read('b', 'k')\n", b"storage.exists('b', 'k')\n",
    b"getattr(s, 'read')\n", b"s = 1\n", b"read = 2\n", b"def f():\n    ", b"class C:\n    ",
    b"    ", b"\t", b"\\\n", b"(", b")", b"[", b"]", b"{", b"}", b":", b",", b"'", b'"', b'f"{',
    b'"""', b"#", b"\r\n", b"\r", b"\n", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xc3\xa9",
    b"# coding: utf-7\n", b"+AGk-", b"B = 'photos'\n", b"\xef\xbd\x89nfrar", b"infrar_native",
    b"import infrar.storage.errors\n", b"s.errors.StorageError\n", b"lambda: ", b"await ",
    b"x: 'infrar.storage.ObjectInfo' = 1\n", b"from infrar.storage import errors, read\n",
]


@bounded(300)
@given(st.lists(st.one_of(st.sampled_from(SNIPPETS), st.binary(max_size=12)), max_size=30))
def test_arbitrary_bytes_with_sdk_snippets_keep_the_invariants(parts: list[bytes]) -> None:
    check_source(b"".join(parts), path="soup.py")


# --- YAML -------------------------------------------------------------------------------------

SCALARS = ["1", "0", "-1", "1.5", "1e400", "-.inf", ".NaN", "0x1F", "0o17", "0b101", "1_000",
           "9" * 400, "yes", "No", "on", "~", "null", "true", "''", '""', "'it''s'",
           '"\\u00e9\\t"', '"\\ud800"', '"\\x00"', "2024-01-31", "2024-02-30", "12:30:00",
           "2001-12-14t21:59:43.10-05:00", "!!str 1", "!!int '12'", "!!float 1", "!!binary aGk=",
           "!!bool maybe", "!!timestamp x", "!!python/object:os.system ls", "!custom value",
           "!!set {a, b}", "!!omap [a: 1]", "local", "photo-app", "eu-west-1", "'{name}'",
           "'{project}-{name}'", "@reserved", "`tick", "'unterminated", "a: b", "- a", "?",
           "&anchor x", "*anchor", "*missing", "é", "\t", "\u2028", "|\n  block", ">-\n  folded",
           "|2#\n", "\"multi\n  line\"", "[a, ? b]", "{a, b: c}", "x #comment"]
KEYS = ["version", "project", "provider", "region", "paths", "output", "naming", "backend",
        "environments", "dev", "prod", "type", "bucket", "apply_on_merge", "apply_requirements",
        "1", "null", "true", "2024-01-01", "''", "? [a]", "<<", "'key with space'", "é",
        "version"]


def yaml_values(depth: int) -> st.SearchStrategy[str]:
    """YAML text for one value, in flow style (block style is built around it)."""
    scalar = st.sampled_from(SCALARS)
    if depth <= 0:
        return scalar
    inner = yaml_values(depth - 1)
    return st.one_of(
        scalar,
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=4).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"),
        st.tuples(st.sampled_from(["a", "b"]), inner).map(lambda t: f"&{t[0]} {t[1]}"),
        st.sampled_from(["*a", "*b"]),
    )


@st.composite
def yaml_documents(draw: st.DrawFn) -> bytes:
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append("version: 1")
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.sampled_from(KEYS))
        indent = draw(st.sampled_from(["", "", "", "  ", "\t", " "]))
        if draw(st.integers(0, 3)) == 0:  # a block collection under the key
            items = draw(st.lists(yaml_values(1), min_size=1, max_size=3))
            if draw(st.booleans()):
                lines += [f"{indent}{key}:", *(f"{indent}  - {item}" for item in items)]
            else:
                lines += [f"{indent}{key}:", *(f"{indent}  {draw(st.sampled_from(KEYS))}: {item}"
                                               for item in items)]
        else:
            lines.append(f"{indent}{key}: {draw(yaml_values(2))}")
    if draw(st.integers(0, 5)) == 0:
        depth = draw(st.integers(60, 400))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        lines.append("deep: " + opener * depth + "1" + closer * depth)
    if draw(st.integers(0, 6)) == 0:
        lines.insert(0, draw(st.sampled_from(["%YAML 1.1\n---", "---", "%TAG ! tag:x,1:\n---"])))
    if draw(st.integers(0, 6)) == 0:
        lines.append(draw(st.sampled_from(["...", "---\nsecond: document", "--- !!map"])))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines) + draw(st.sampled_from([newline, ""]))
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 8)) == 0:
        spot = draw(st.integers(0, len(data)))
        data = data[:spot] + draw(st.sampled_from([b"\xff", b"\x00", b"\xc3"])) + data[spot:]
    return data


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        yield folder


@bounded(300)
@given(yaml_documents())
def test_a_yaml_document_loads_or_gives_its_line(scratch: Path, data: bytes) -> None:
    check_yaml(data, scratch)


VALID = st.fixed_dictionaries(
    {"version": st.just(1)},
    optional={
        "project": st.from_regex(r"[a-z][a-z0-9-]{0,29}", fullmatch=True),
        "provider": st.sampled_from(["local", "aws", "gcp", "azure"]),
        "region": st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True),
        "paths": st.lists(st.from_regex(r"[a-z][a-z0-9_/.-]{0,20}", fullmatch=True), max_size=3),
        "output": st.from_regex(r"[a-z][a-z0-9_/-]{0,20}", fullmatch=True),
        "environments": st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9-]{0,29}", fullmatch=True),
            st.fixed_dictionaries({}, optional={
                "provider": st.sampled_from(["local", "aws"]),
                "apply_on_merge": st.booleans(),
                "apply_requirements": st.lists(
                    st.sampled_from(["approved", "mergeable", "undiverged"]), unique=True)}),
            max_size=3),
    })


@bounded(80)
@given(VALID, st.sampled_from(["flow", "block", "anchors"]))
def test_a_valid_configuration_loads_as_written(scratch: Path, config: dict[str, Any],
                                                style: str) -> None:
    environments = list(config.get("environments", {}))
    if style == "block":
        text = yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
    else:
        lines = [f"{key}: {json.dumps(value)}" for key, value in config.items()
                 if key != "environments" or style == "flow"]
        if style == "anchors":  # one environment's settings shared with another by an alias
            first = config.get("environments") or {"dev": {}}
            name, settings_ = next(iter(first.items()))
            lines += ["environments:", f"  {name}: &shared {json.dumps(settings_)}",
                      *(f"  {k}: {json.dumps(v)}" for k, v in first.items() if k != name),
                      "  alias-env: *shared"]
            environments = [*first, "alias-env"] if "alias-env" not in first else list(first)
            assume("alias-env" not in first)
        text = "\n".join(lines) + "\n"
    loaded = check_yaml(text.encode(), scratch)
    assert loaded is not None, text
    assert loaded.project == config.get("project")
    assert list(loaded.environments) == environments
    assert loaded.paths == tuple(config.get("paths", ()))
