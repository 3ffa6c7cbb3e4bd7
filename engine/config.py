"""`.infrar.yaml`: the project's configuration, schema-validated, resolved per environment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infrar.engine.diagnostics import EngineError
from infrar.engine.naming import (
    DEFAULT_PATTERN,
    DEFAULT_PATTERN_WITHOUT_PROJECT,
    IDENTITY_PATTERN,
    Naming,
)
from infrar.engine.schema import schema_errors
from infrar.engine.yamlio import YamlDocument, YamlError, load_yaml

CONFIG_FILE = ".infrar.yaml"
DEFAULT_ENVIRONMENT = "default"
DEFAULT_PROVIDER = "local"
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}\Z")


class ConfigError(EngineError):
    """`.infrar.yaml` is unreadable or invalid; `problems` are `file:line: yaml.path: message`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    provider: str | None = None
    region: str | None = None
    backend: dict[str, str] = field(default_factory=dict)
    apply_on_merge: bool = False
    apply_requirements: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectConfig:
    path: Path | None = None
    project: str | None = None
    provider: str | None = None
    region: str | None = None
    paths: tuple[str, ...] = ()
    output: str | None = None
    naming: str | None = None
    backend: dict[str, str] = field(default_factory=dict)
    environments: dict[str, EnvironmentConfig] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def naming_pattern(self) -> str:
        if self.naming:
            return self.naming
        if self.path is None:
            return IDENTITY_PATTERN
        return DEFAULT_PATTERN if self.project else DEFAULT_PATTERN_WITHOUT_PROJECT


@dataclass(frozen=True)
class Target:
    """Everything one run needs to know about where it deploys."""

    provider: str
    environment: str
    region: str | None
    naming: Naming
    backend: dict[str, str]
    config: ProjectConfig


def find_config(start: Path) -> Path | None:
    """`.infrar.yaml` in `start` or above it, stopping at the repository root."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def load_config(path: Path) -> ProjectConfig:
    try:
        doc = load_yaml(path)
    except (OSError, YamlError, UnicodeDecodeError) as exc:
        raise ConfigError([str(exc)]) from None
    problems = schema_errors(doc, "infrar-config") if doc.data is not None else [
        f"{path}:1: (document): the file is empty; it needs at least `version: 1`"]
    problems += _placeholder_problems(doc) if not problems else []
    if problems:
        raise ConfigError(problems)
    return _parse(path, doc.data)


def _placeholder_problems(doc: YamlDocument) -> list[str]:
    naming = doc.data.get("naming")
    if naming and "{project}" in naming and not doc.data.get("project"):
        line = doc.line_of(("naming",))
        return [f"{doc.path}:{line}: naming: uses {{project}} but no project is set"]
    return []


def _parse(path: Path, data: dict[str, Any]) -> ProjectConfig:
    environments = {
        name: EnvironmentConfig(
            name=name,
            provider=raw.get("provider"),
            region=raw.get("region"),
            backend=dict(raw.get("backend", {})),
            apply_on_merge=bool(raw.get("apply_on_merge", False)),
            apply_requirements=tuple(raw.get("apply_requirements", ())),
        )
        for name, raw in (data.get("environments") or {}).items()
    }
    return ProjectConfig(
        path=path,
        project=data.get("project"),
        provider=data.get("provider"),
        region=data.get("region"),
        paths=tuple(data.get("paths", ())),
        output=data.get("output"),
        naming=data.get("naming"),
        backend=dict(data.get("backend", {})),
        environments=environments,
    )


def load_project_config(*, config_file: Path | None = None, start: Path | None = None
                        ) -> ProjectConfig:
    """The named config file, else the one found from `start` (default: cwd), else defaults."""
    path = config_file or find_config(start or Path.cwd())
    return load_config(path) if path else ProjectConfig()


def resolve_target(config: ProjectConfig, *, environment: str | None = None,
                   provider: str | None = None, region: str | None = None,
                   fallback_provider: str = DEFAULT_PROVIDER) -> Target:
    """Command-line choices win, then the environment's settings, then the top-level ones."""
    name = environment or DEFAULT_ENVIRONMENT
    if not ENVIRONMENT_NAME.match(name):
        raise EngineError(f"environment {name!r} must be lowercase letters, digits and hyphens, "
                          "starting with a letter (at most 30 characters)")
    if environment and config.environments and environment not in config.environments:
        known = ", ".join(sorted(config.environments))
        raise EngineError(f"{config.path}: no environment {environment!r} (known: {known})")
    env = config.environments.get(name, EnvironmentConfig(name))
    chosen = provider or env.provider or config.provider or fallback_provider
    return Target(
        provider=chosen,
        environment=name,
        region=region or env.region or config.region,
        naming=Naming(config.naming_pattern, config.project, name),
        backend={**config.backend, **env.backend},
        config=config,
    )
