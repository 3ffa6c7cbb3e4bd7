"""Property test: random programs mixing SDK calls with ordinary code.

Programs are built from segments, each a run of whole lines, using one capability of the SDK
(storage, queue, secrets or kv, drawn); ordinary segments never touch the SDK but mention
`infrar` in strings, comments and names. The output must be the input with
exactly two kinds of edit, computed here from the input's own syntax tree: the `infrar` module
name of each SDK import statement becomes `infrar_native`, and so does each load of the name
`infrar` (bound by a plain `import infrar[.storage]`). Every other byte is identical: call sites,
arguments, f-strings, comments, line endings.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrar.engine.capabilities import known_capabilities, load_capability
from infrar.engine.detect import detect_source
from infrar.engine.native import PACKAGE
from infrar.engine.transform import transform_source

CAPABILITIES = {name: load_capability(name) for name in known_capabilities()}
ALIASES = ("s", "st", "store", "blob_api")


@dataclass(frozen=True)
class Segment:
    text: str
    sdk: bool
    calls: int = 0


# --- ordinary code ----------------------------------------------------------------------------

words = st.sampled_from(["infrar", "infrared", "my_infrar", "import infrar.storage as s",
                         "storage.read('b', 'k')", "café", "🚀", "plain", "quote\"s", "it's"])
text_values = st.lists(words, min_size=1, max_size=3).map(" ".join)


@st.composite
def ordinary(draw: st.DrawFn, n: int) -> Segment:
    kind = draw(st.sampled_from(["assign", "string", "function", "class", "loop", "try",
                                 "import", "comment", "multiline", "lookalike"]))
    text = draw(text_values)
    tail = draw(st.sampled_from(["", "\n", "# infrar in a comment\n", "\n\n", "# note\n\n"]))
    if kind == "assign":
        body = f"v_{n} = {draw(st.integers(-5, 10**6))}\n"
    elif kind == "string":
        body = f"v_{n} = {text!r}  # {text}\n"
    elif kind == "function":
        body = (f"def func_{n}(a, b={n}):\n"
                f"    {text!r}\n"
                f"    return a + b\n")
    elif kind == "class":
        body = (f"class Klass_{n}:\n"
                f"    label = {text!r}\n\n"
                f"    def method(self):\n"
                f"        return self.label\n")
    elif kind == "loop":
        body = f"for v_{n} in range(3):\n    pass\n"
    elif kind == "try":
        body = (f"try:\n    v_{n} = int({text!r})\n"
                f"except ValueError:\n    v_{n} = None\n")
    elif kind == "import":
        return Segment(draw(st.sampled_from(["import json\n", "import os.path\n",
                                             "from collections import OrderedDict\n",
                                             "import json, os.path as infrar_path\n"])), False)
    elif kind == "lookalike":
        # `infrar` as an attribute, a keyword, a relative module: none of them is the SDK.
        body = (f"def look_{n}(obj):\n"
                f"    from .infrar import storage as rel_{n}\n"
                f"    return obj.infrar, dict(infrar={text!r}), rel_{n}\n")
    elif kind == "comment":
        body = f"v_{n} = 0\n# infrar: {text}\n"
    else:
        body = f'v_{n} = """\nimport infrar.storage\n{text}\n"""\n'
    return Segment(body + tail, sdk=False)


# --- SDK code ---------------------------------------------------------------------------------

expressions = st.one_of(
    text_values.map(repr),
    st.sampled_from(["v_name", "key", "config['bucket']", "f'{key}/part'", "names[0]",
                     "key if key else 'default'", "str(key).lower()", "(k := 'walrus')",
                     "'a' 'b'", "key + '/'"]),
)
value_for = {
    "data": st.sampled_from(["b'bytes'", "'text'", "payload", "json.dumps({}).encode()"]),
    "metadata": st.sampled_from(["{'owner': 'ana'}", "None", "meta"]),
    "content_type": st.sampled_from(["'text/plain'", "None", "kind"]),
    "max_results": st.sampled_from(["10", "None", "limit or None"]),
    "expires_in": st.sampled_from(["60", "3600", "ttl"]),
    "method": st.sampled_from(["'GET'", "'PUT'", "verb"]),
}


@st.composite
def call_arguments(draw: st.DrawFn, capability: str, operation: str) -> list[str]:
    parts: list[str] = []
    keyword = False
    function = CAPABILITIES[capability].functions[operation]
    for name, param in inspect.signature(function).parameters.items():
        value = draw(value_for.get(name, expressions))
        required = param.default is inspect.Parameter.empty
        if not required and not draw(st.booleans()):
            keyword = True
            continue
        keyword = keyword or param.kind is inspect.Parameter.KEYWORD_ONLY or draw(st.booleans())
        parts.append(f"{name}={value}" if keyword else value)
    return parts


@dataclass(frozen=True)
class ImportStyle:
    line: str
    prefix: str
    names: dict[str, str]
    """operation -> the name it is called by (direct imports only)."""

    def callee(self, operation: str) -> str:
        return self.names.get(operation) or f"{self.prefix}{operation}"


@st.composite
def import_style(draw: st.DrawFn, capability: str, operations: list[str]) -> ImportStyle:
    alias = draw(st.sampled_from(ALIASES))
    style = draw(st.integers(0, 6))
    module = f"infrar.{capability}"
    if style == 0:
        return ImportStyle(f"import {module}\n", f"{module}.", {})
    if style == 1:
        return ImportStyle(f"import {module} as {alias}\n", f"{alias}.", {})
    if style == 2:
        return ImportStyle(f"from infrar import {capability}\n", f"{capability}.", {})
    if style == 3:
        return ImportStyle(f"from infrar import {capability} as {alias}\n", f"{alias}.", {})
    if style == 4:
        return ImportStyle("import infrar\n", f"{module}.", {})
    if style == 5:
        return ImportStyle(f"from {module} import *\n", "", {})
    names = {op: draw(st.sampled_from([op, f"{op}_fn"])) for op in sorted(set(operations))}
    listed = ", ".join(op if name == op else f"{op} as {name}" for op, name in names.items())
    return ImportStyle(f"from {module} import {listed}\n", "", names)


@st.composite
def sdk_segment(draw: st.DrawFn, style: ImportStyle, capability: str, operation: str,
                n: int) -> Segment:
    arguments = draw(call_arguments(capability, operation))
    call = f"{style.callee(operation)}({', '.join(arguments)})"
    form = draw(st.sampled_from(["assign", "bare", "function", "comprehension", "fstring",
                                 "nested", "two", "multiline"]))
    if form == "assign":
        return Segment(f"r_{n} = {call}\n", True, 1)
    if form == "bare":
        return Segment(f"{call}\n", True, 1)
    if form == "function":
        return Segment(f"def sdk_{n}(key):\n    return {call}\n", True, 1)
    if form == "comprehension":
        return Segment(f"r_{n} = [{call} for key in names]\n", True, 1)
    if form == "fstring" and '"' not in call and "\\" not in call:
        return Segment(f'r_{n} = f"<{{{call}}}>"\n', True, 1)
    if form == "nested":
        return Segment(f"print(len(str({call})), {call})\n", True, 2)
    if form == "two":
        return Segment(f"r_{n} = {call}; {call}\n", True, 2)
    multiline = "".join(f"\n    {a}," for a in arguments)
    return Segment(f"r_{n} = {style.callee(operation)}({multiline}\n)\n", True, 1)


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[Segment], str, str]:
    segments: list[Segment] = []
    if draw(st.booleans()):
        segments.append(Segment("#!/usr/bin/env python3\n# Copyright: infrar tests\n", False))
    if draw(st.booleans()):
        segments.append(Segment(f'"""Module docstring: {draw(text_values)}."""\n', False))
    if draw(st.booleans()):
        segments.append(Segment("from __future__ import annotations\n", False))
    capability = draw(st.sampled_from(sorted(CAPABILITIES)))
    operations = draw(st.lists(st.sampled_from(sorted(CAPABILITIES[capability].functions)),
                               min_size=1, max_size=6))
    style = draw(import_style(capability, operations))
    before = draw(st.integers(0, 3))
    segments += [draw(ordinary(i)) for i in range(before)]
    segments.append(Segment(style.line, True))
    body: list[Segment] = [draw(sdk_segment(style, capability, op, i))
                           for i, op in enumerate(operations)]
    body += [draw(ordinary(100 + i)) for i in range(draw(st.integers(0, 8)))]
    segments += draw(st.permutations(body))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return segments, newline, capability


def encoded(segment: Segment, newline: str) -> bytes:
    return segment.text.replace("\n", newline).encode()


_LINE_END = re.compile(rb"\r\n?|\n")


def expected_output(source: bytes) -> bytes:
    """`source` with the SDK's module name in its imports, and each load of `infrar`, renamed:
    found from the syntax tree alone, without the engine."""
    starts = [0, *(m.end() for m in _LINE_END.finditer(source))]
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            sdk = [a for a in node.names if a.name.split(".")[0] == "infrar"]
        elif isinstance(node, ast.ImportFrom):
            sdk = [node] if not node.level and (node.module or "").split(".")[0] == "infrar" \
                else []
        elif isinstance(node, ast.Name) and node.id == "infrar":
            assert isinstance(node.ctx, ast.Load)
            sdk = [node]
        else:
            continue
        for part in sdk:
            start = starts[part.lineno - 1] + part.col_offset
            at = source.index(b"infrar", start)
            spans.append((at, at + len(b"infrar")))
    out, position = [], 0
    for begin, end in sorted(spans):
        out += [source[position:begin], PACKAGE.encode()]
        position = end
    return b"".join([*out, source[position:]])


def test_expected_output_renames_only_sdk_names() -> None:
    source = (b'"""import infrar.storage"""\nimport json, infrar.storage as s\n'
              b'from infrar import storage  # infrar\nimport infrar\n'
              b'x = [infrar.storage.read("infrar", k) for k in "infrar"]  # infrar.storage\n')
    assert expected_output(source) == (
        b'"""import infrar.storage"""\nimport json, infrar_native.storage as s\n'
        b'from infrar_native import storage  # infrar\nimport infrar_native\n'
        b'x = [infrar_native.storage.read("infrar", k) for k in "infrar"]  # infrar.storage\n')


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs(program: tuple[list[Segment], str, str]) -> None:
    segments, newline, capability = program
    source = b"".join(encoded(s, newline) for s in segments)
    result = transform_source(source, path="generated.py")
    assert result.ok, "\n".join(map(str, result.diagnostics)) + "\n" + source.decode()
    assert result.output is not None and result.output != source
    output = result.output

    assert output == expected_output(source), "a byte outside the SDK's names changed"
    assert result.capabilities == [capability]
    assert [r.operation for r in result.rewrites] == ["import"]

    compile(output, "generated.py", "exec", dont_inherit=True)
    again = transform_source(output, path="generated.py")
    assert again.ok and (again.output is None or again.output == output), "not idempotent"
    assert transform_source(source, path="generated.py").output == output

    expected_calls = sum(s.calls for s in segments)
    assert len(detect_source(source, path="generated.py").uses) == expected_calls
    assert detect_source(output, path="generated.py").uses == []
    for node in ast.walk(ast.parse(output)):
        if isinstance(node, ast.Import):
            assert not any(a.name.split(".")[0] == "infrar" for a in node.names)
        if isinstance(node, ast.ImportFrom) and not node.level:
            assert (node.module or "").split(".")[0] != "infrar"
    if newline == "\r\n":
        assert output.count(b"\n") == output.count(b"\r\n")
