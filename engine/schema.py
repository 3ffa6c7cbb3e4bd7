"""JSON Schema validation of YAML documents, reporting file, YAML path and line.

A document found valid is remembered, in the process and in the user's cache folder, under a
digest of its content, the schemas and the engine version: the pre-commit hook then validates
the same configuration and rules on every commit without importing jsonschema. Only successes
are remembered, so every problem is always found by jsonschema itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infrar.engine import diskcache
from infrar.engine.diagnostics import Problem
from infrar.engine.yamlio import YamlDocument, format_yaml_path

if TYPE_CHECKING:
    from referencing import Registry

CACHE_KIND = "valid"
_known_valid: set[str] = set()


@cache
def _schema_texts() -> dict[str, str]:
    folder = Path(__file__).parent / "schemas"
    return {entry.name.removesuffix(".schema.json"): entry.read_text(encoding="utf-8")
            for entry in folder.glob("*.schema.json")}


@cache
def _schemas_digest() -> str:
    """What decides a validation besides the data: the schemas, this module's code, and the
    jsonschema that runs it, known by its file's size and time (finding it imports nothing,
    and reading the package versions from metadata would cost more than the check saves)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    spec = importlib.util.find_spec("jsonschema")
    if spec is not None and spec.origin:
        found = os.stat(spec.origin)
        digest.update(f"\0{spec.origin}\0{found.st_size}\0{found.st_mtime_ns}".encode())
    for name, text in sorted(_schema_texts().items()):
        digest.update(f"\0{name}\0{text}".encode())
    return digest.hexdigest()


@cache
def _registry() -> tuple[Registry, dict[str, dict[str, Any]]]:
    import json

    from referencing import Registry, Resource

    by_name = {name: json.loads(text) for name, text in _schema_texts().items()}
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in by_name.values()
    )
    return registry, by_name


def _validity_key(data: Any, schema_name: str) -> str:
    # repr tells apart every value YAML loads (1, 1.0, True, "1", dates...); a value whose
    # repr varies between runs only ever misses the cache.
    text = f"{_schemas_digest()}\0{schema_name}\0{data!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def schema_errors(doc: YamlDocument, schema_name: str) -> list[str]:
    """Every schema violation in `doc`, as `file:line: yaml.path: message`, in document order."""
    return [str(problem) for problem in schema_problems(doc, schema_name)]


def schema_problems(doc: YamlDocument, schema_name: str) -> list[Problem]:
    """Every schema violation in `doc`, with its file, line and YAML path, in document order."""
    key = _validity_key(doc.data, schema_name)
    if key in _known_valid or diskcache.read(CACHE_KIND, key) == b"":
        _known_valid.add(key)
        return []
    found = _validate(doc, schema_name)
    if not found:
        _known_valid.add(key)
        diskcache.write(CACHE_KIND, key)
    return found


def meta_schema_error(doc: YamlDocument) -> tuple[tuple[str | int, ...], str] | None:
    """Why `doc` is not itself a valid JSON Schema (where, message), or None; successes are
    remembered as for `schema_problems`."""
    key = _validity_key(doc.data, "<json schema>")
    if key in _known_valid or diskcache.read(CACHE_KIND, key) == b"":
        return None
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(doc.data)
    except jsonschema.SchemaError as exc:
        return tuple(exc.absolute_path), exc.message
    _known_valid.add(key)
    diskcache.write(CACHE_KIND, key)
    return None


def _unexpected_key(error: Any) -> tuple[str, ...]:
    """For a key the schema does not allow, the key itself: its line is the one to show, not
    the line of the mapping that holds it (line 1 for a top-level key)."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return ()
    allowed = set(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    import re

    extra = [k for k in error.instance if k not in allowed
             and not any(re.search(p, str(k)) for p in patterns)]
    return (extra[0],) if extra else ()


def _validate(doc: YamlDocument, schema_name: str) -> list[Problem]:
    import jsonschema

    registry, by_name = _registry()
    validator = jsonschema.Draft202012Validator(by_name[schema_name], registry=registry)
    found = []
    for error in validator.iter_errors(doc.data):
        where = tuple(error.absolute_path)
        found.append((doc.line_of(where + _unexpected_key(error)), format_yaml_path(where),
                      error.message))
    return [Problem.at(doc.path, line, where, message) for line, where, message in sorted(found)]
