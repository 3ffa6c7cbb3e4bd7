"""The payload fields a handler reads, declared beside it and checked before any work is queued.

A signed delivery whose fields are missing or of the wrong type can never succeed: checked at
ingest (and again when its job starts), it is recorded as failed once, with the reason,
instead of failing on every retry.

A spec maps a dotted path to a kind: `{"pull_request.number": "id"}`. A path ending in `?` may
be absent or null (when present it must be of its kind, and everything on the way must be an
object); `name[]` in a path means every element of the list `name`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Spec = Mapping[str, str]
MAX_PROBLEMS = 5  # reported per delivery; the first few say enough

_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_MAX_ID = 2**63 - 1


def _is_id(value: Any) -> bool:
    return type(value) is int and 0 < value <= _MAX_ID


KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "id": ("a positive integer", _is_id),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "object": ("an object", lambda v: isinstance(v, Mapping)),
    "list": ("a list", lambda v: isinstance(v, list)),
    "repo": ("owner/name", lambda v: isinstance(v, str) and bool(_REPO.match(v))),
    "sha": ("a commit SHA", lambda v: isinstance(v, str) and bool(_SHA.match(v))),
}


class PayloadError(ValueError):
    """A delivery's payload lacks what its handler needs; retrying cannot help."""


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _check(value: Any, segments: list[str], kind: str, optional: bool, where: str,
           out: list[str]) -> None:
    if len(out) >= MAX_PROBLEMS:
        return
    if not segments:
        describe, accepts = KINDS[kind]
        if not accepts(value):
            shown = f"{value!r}" if isinstance(value, str) and len(value) <= 40 else _kind_of(value)
            out.append(f"{where} is {shown}, not {describe}")
        return
    if not isinstance(value, Mapping):
        out.append(f"{where or 'the payload'} is {_kind_of(value)}, not an object")
        return
    head, rest = segments[0], segments[1:]
    name = head.removesuffix("[]")
    path = f"{where}.{name}" if where else name
    child = value.get(name)
    if child is None:
        if not optional:
            out.append(f"{path} is missing")
        return
    if head.endswith("[]"):
        if not isinstance(child, list):
            out.append(f"{path} is {_kind_of(child)}, not a list")
            return
        for index, item in enumerate(child):
            _check(item, rest, kind, False, f"{path}[{index}]", out)
        return
    _check(child, rest, kind, optional, path, out)


def problems(payload: Mapping[str, Any], spec: Spec) -> list[str]:
    """What is wrong with `payload` for `spec`; empty when nothing is."""
    out: list[str] = []
    for path, kind in spec.items():
        optional = path.endswith("?")
        _check(payload, path.removesuffix("?").split("."), kind, optional, "", out)
    return out[:MAX_PROBLEMS]


INSTALLED: Spec = {"installation.id": "id", "repository.full_name": "repo"}
"""What every handler acting on a repository needs: the installation to get a token for."""
