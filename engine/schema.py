"""JSON Schema validation of YAML documents, reporting file, YAML path and line."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

from infrar.engine.yamlio import YamlDocument, format_yaml_path


@cache
def _registry() -> tuple[Registry, dict[str, dict[str, Any]]]:
    by_name: dict[str, dict[str, Any]] = {}
    folder = resources.files("infrar.engine").joinpath("schemas")
    for entry in folder.iterdir():
        if entry.name.endswith(".schema.json"):
            by_name[entry.name.removesuffix(".schema.json")] = json.loads(entry.read_text())
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in by_name.values()
    )
    return registry, by_name


def schema_errors(doc: YamlDocument, schema_name: str) -> list[str]:
    """Every schema violation in `doc`, as `file:line: yaml.path: message`, in document order."""
    registry, by_name = _registry()
    validator = jsonschema.Draft202012Validator(by_name[schema_name], registry=registry)
    found = []
    for error in validator.iter_errors(doc.data):
        where = tuple(error.absolute_path)
        found.append((doc.line_of(where), format_yaml_path(where), error.message))
    return [f"{doc.path}:{line}: {where}: {message}" for line, where, message in sorted(found)]
