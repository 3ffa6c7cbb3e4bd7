"""Check credentials against an authentication method's schema, and turn them into the
environment Terraform runs with. No message ever quotes a supplied value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jinja2 import meta

from infrar.engine.diagnostics import EngineError
from infrar.engine.infra.catalog import AuthMethod
from infrar.engine.templates import infra_environment, render_infra
from infrar.engine.yamlio import YamlError, load_yaml

MASK = "********"

# What each JSON Schema keyword means, said without repeating the (possibly secret) value.
_PLAIN = {
    "pattern": "does not have the expected format",
    "minLength": "is too short",
    "maxLength": "is too long",
    "type": "has the wrong type",
    "const": "is not the accepted value",
    "enum": "is not one of the accepted values",
    "format": "does not have the expected format",
}


@dataclass(frozen=True)
class CredentialCheck:
    method: AuthMethod
    problems: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    secret_variables: frozenset[str] = frozenset()
    secrets: tuple[str, ...] = ()
    """Every secret value, so that runs can scrub them from anything they print."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def shown(self) -> list[tuple[str, str]]:
        """The environment as it may be displayed: secrets masked, long values summarised."""
        rows = []
        for name, value in sorted(self.environment.items()):
            if name in self.secret_variables:
                rows.append((name, f"{MASK} (secret, {len(value)} characters)"))
            elif "\n" in value:
                rows.append((name, f"({len(value.splitlines())} lines)"))
            else:
                rows.append((name, value))
        return rows


def collect(method: AuthMethod, *, environ: Mapping[str, str],
            file: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """Values from the variables the schema names, then from `file` (which wins)."""
    values = {name: environ[spec["x-env"]] for name, spec in method.fields.items()
              if environ.get(spec["x-env"])}
    problems: list[str] = []
    if file is None:
        return values, problems
    if method.file_field:
        try:
            values[method.file_field] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{file}: cannot read: {exc.__class__.__name__}")
        return values, problems
    from_file, problems = _read_mapping(file)
    return {**values, **from_file}, problems


def _read_mapping(file: Path) -> tuple[dict[str, str], list[str]]:
    try:
        doc = load_yaml(file)
    except YamlError as exc:
        # The YAML error may quote the offending text, so only the place is kept.
        return {}, [f"{exc.path}:{exc.line}: invalid YAML or JSON"]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{file}: cannot read: {exc.__class__.__name__}"]
    if not isinstance(doc.data, dict):
        return {}, [f"{file}:1: expected a mapping of field names to values"]
    values, problems = {}, []
    for name, value in doc.data.items():
        if not isinstance(value, str):
            problems.append(f"{file}:{doc.line_of((name,))}: {name}: must be a string")
        else:
            values[str(name)] = value
    return values, problems


def check(method: AuthMethod, values: dict[str, str]) -> CredentialCheck:
    problems = _schema_problems(method, values)
    problems += _content_problems(method, values)
    secrets = tuple(values[f] for f in sorted(method.secret_fields) if values.get(f))
    if problems:
        return CredentialCheck(method, problems, secrets=secrets)
    environment, secret_variables = _environment(method, values)
    return CredentialCheck(method, [], environment, secret_variables, secrets)


def _schema_problems(method: AuthMethod, values: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(method.schema)
    found = []
    for error in validator.iter_errors(values):
        found.append(_describe(method, list(error.absolute_path), error))
    return sorted(found)


def _describe(method: AuthMethod, path: list[Any], error: jsonschema.ValidationError) -> str:
    if not path or error.validator in ("required", "additionalProperties"):
        where = ".".join(str(p) for p in path) or "credentials"
        return f"{where}: {error.message}"
    name = str(path[0])
    spec = method.fields.get(name, {})
    label = f"{name} ({spec['x-env']})" if "x-env" in spec else name
    inner = "".join(f".{p}" for p in path[1:])
    hint = f"; expected: {spec['description']}" if spec.get("description") else ""
    return f"{label}{inner}: {_PLAIN.get(str(error.validator), f'fails {error.validator}')}{hint}"


def _content_problems(method: AuthMethod, values: dict[str, str]) -> list[str]:
    """`contentMediaType: application/json` fields must parse, and match `contentSchema`."""
    problems = []
    for name, spec in method.fields.items():
        if spec.get("contentMediaType") != "application/json" or name not in values:
            continue
        try:
            content = json.loads(values[name])
        except ValueError:
            problems.append(f"{name} ({spec['x-env']}): is not valid JSON")
            continue
        validator = jsonschema.Draft202012Validator(spec.get("contentSchema", {}))
        problems += sorted(_describe(method, [name, *e.absolute_path], e)
                           for e in validator.iter_errors(content))
    return problems


def _environment(method: AuthMethod,
                 values: dict[str, str]) -> tuple[dict[str, str], frozenset[str]]:
    context = {name: values.get(name, "") for name in method.fields}
    environment, secret = {}, set()
    for variable, text in method.environment.items():
        rendered = render_infra(text, context, source=str(method.root / "handler.yaml"))
        if not rendered:
            continue
        environment[variable] = rendered
        if _uses(text) & method.secret_fields:
            secret.add(variable)
    return environment, frozenset(secret)


def _uses(text: str) -> set[str]:
    return set(meta.find_undeclared_variables(infra_environment().parse(text)))


def credentials_for(method: AuthMethod, *, environ: Mapping[str, str],
                    file: Path | None = None) -> CredentialCheck:
    values, problems = collect(method, environ=environ, file=file)
    result = check(method, values)
    if problems:
        return CredentialCheck(method, problems + result.problems, secrets=result.secrets)
    return result


def require(result: CredentialCheck) -> CredentialCheck:
    if not result.ok:
        raise EngineError(f"credentials for {result.method.name} are not usable:\n"
                          + "\n".join(result.problems))
    return result
