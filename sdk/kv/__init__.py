"""Key-value tables, written once, run anywhere.

A table maps string keys to JSON objects. Import-time cost is the standard library only. The
provider is chosen at call time by `INFRAR_PROVIDER` (`local` by default); every provider runs
the very native code that `infrar transform` would write into your module.

The portable rules, checked before any request: a key is a str of 1 to 128 characters with no
control character; a value is a dict whose contents are dicts with str keys, lists, str, int,
finite float, bool and None, nested at most 64 deep, and at most 64 KiB as UTF-8 JSON. Anything
else raises KVError.
"""

from __future__ import annotations

from typing import Any

from infrar.kv.errors import KeyNotFoundError, KVError, TableNotFoundError

__all__ = [
    "put",
    "get",
    "delete",
    "scan",
    "KVError",
    "KeyNotFoundError",
    "TableNotFoundError",
]


def _native(operation: str) -> Any:
    from infrar._runtime import native_operation

    return native_operation("kv", operation)


def put(table: str, key: str, value: dict[str, Any]) -> None:
    """Store the JSON object `value` under `key`, replacing what was there."""
    _native("put")(table, key, value)


def get(table: str, key: str) -> dict[str, Any]:
    """Return the object stored under `key`, equal to what was put."""
    result: dict[str, Any] = _native("get")(table, key)
    return result


def delete(table: str, key: str) -> None:
    """Delete the value under `key`; deleting a missing key is not an error."""
    _native("delete")(table, key)


def scan(table: str, prefix: str = "") -> list[str]:
    """Every key that starts with `prefix`, across all pages, sorted."""
    result: list[str] = _native("scan")(table, prefix)
    return result
