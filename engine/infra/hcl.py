"""Write HCL the way `terraform fmt` does: literals escaped, `=` aligned, one style only."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

INDENT = "  "
# Stricter than HCL itself (which allows '-'), so no key can ever read as an expression.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True)
class Expr:
    """An HCL expression written by the engine itself (a reference, a type), emitted as is."""

    text: str


def string(value: str) -> str:
    """A quoted HCL string whose content is taken literally: no interpolation, no directive."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    text = "".join(out)
    # Doubling the introducer is HCL's own escape for a literal `${` or `%{`.
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


def key(name: str) -> str:
    return name if IDENTIFIER.match(name) else string(name)


def inline(value: Any) -> str:
    """A value on one line (scalars, lists of scalars, small objects)."""
    if isinstance(value, Expr):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{string(k)} = {inline(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no HCL form for {type(value).__name__}")


def _multiline(value: Any) -> bool:
    return isinstance(value, dict) and bool(value)


def value_lines(value: Any, depth: int) -> list[str]:
    """The lines of `value` placed after `key = ` at `depth`; the first line has no indent."""
    if not _multiline(value):
        return [inline(value)]
    inner = attribute_lines([(key(k), v) for k, v in value.items()], depth + 1)
    return ["{", *inner, INDENT * depth + "}"]


def attribute_lines(items: list[tuple[str, Any]], depth: int) -> list[str]:
    """`key = value` lines, aligned like `terraform fmt`: runs of one-line attributes share a
    column; an attribute spanning lines stands alone and ends the run."""
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        lines.extend(f"{INDENT * depth}{k.ljust(width)} = {v}" for k, v in run)
        run.clear()

    for name, value in items:
        rendered = value_lines(value, depth)
        if len(rendered) == 1:
            run.append((name, rendered[0]))
            continue
        flush()
        lines.append(f"{INDENT * depth}{name} = {rendered[0]}")
        lines.extend(rendered[1:])
    flush()
    return lines


def block(header: str, groups: list[list[tuple[str, Any]]], *, depth: int = 0) -> str:
    """`header {`, the groups of attributes with a blank line between them, `}`."""
    body: list[str] = []
    for group in groups:
        if not group:
            continue
        if body:
            body.append("")
        body += attribute_lines(group, depth + 1)
    return "\n".join([f"{INDENT * depth}{header} {{", *body, f"{INDENT * depth}}}"]) + "\n"


def document(items: list[tuple[str, Any]]) -> str:
    """Top-level attributes, as in a `.tfvars` file."""
    lines = attribute_lines(items, 0)
    return "\n".join(lines) + "\n" if lines else ""
