"""`.infrar.yaml`: the project's configuration, schema-validated, resolved per environment."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infrar.engine.diagnostics import EngineError, Problem
from infrar.engine.naming import (
    DEFAULT_PATTERN,
    DEFAULT_PATTERN_WITHOUT_PROJECT,
    IDENTITY_PATTERN,
    Naming,
)
from infrar.engine.schema import schema_problems
from infrar.engine.yamlio import YamlDocument, YamlError, load_yaml

CONFIG_FILE = ".infrar.yaml"
DEFAULT_ENVIRONMENT = "default"
DEFAULT_PROVIDER = "local"
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}\Z")


class ConfigError(EngineError):
    """`.infrar.yaml` is unreadable or invalid: `details` say what is wrong and where; `problems`
    are the same as text, `file:line: yaml.path: message`."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.details = tuple(p if isinstance(p, Problem) else Problem.from_text(p)
                             for p in problems)
        self.problems = [str(p) for p in self.details]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    provider: str | None = None
    region: str | None = None
    backend: dict[str, str] = field(default_factory=dict)
    apply_on_merge: bool = False
    apply_requirements: tuple[str, ...] = ()
    policy_owners: tuple[str, ...] = ()
    """GitHub logins or `org/team` slugs who may approve a plan that fails a policy."""


@dataclass(frozen=True)
class PolicySkip:
    id: str
    reason: str


@dataclass(frozen=True)
class PolicyConfig:
    checkov: bool = True
    skips: tuple[PolicySkip, ...] = ()
    custom: str | None = None
    """Folder of checkov custom policies (YAML), relative to the configuration file."""


@dataclass(frozen=True)
class DriftConfig:
    schedule: str | None = None
    """Cron expression (UTC) for the App's drift checks; None: no scheduled checks."""


SERVICE_KINDS = ("http", "worker", "schedule")
DEFAULT_PORT = 8080
DEFAULT_HEALTH = "/"


@dataclass(frozen=True)
class ServiceConfig:
    """One program of the project: what starts it, and how it runs."""

    name: str
    kind: str
    entry: str | None = None
    """`module:attribute`: a WSGI/ASGI application (http) or a function to call."""
    interface: str = "wsgi"
    """How an http `entry` is served: `wsgi` or `asgi`."""
    command: tuple[str, ...] = ()
    port: int = DEFAULT_PORT
    health: str = DEFAULT_HEALTH
    public: bool = False
    schedule: str | None = None
    paths: tuple[str, ...] = ()
    """Where its code lives, when not the project's paths."""


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
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    services: dict[str, ServiceConfig] = field(default_factory=dict)

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
    except YamlError as exc:
        raise ConfigError([Problem.at(exc.path, exc.line, "", exc.message)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([str(exc)]) from None
    problems = schema_problems(doc, "infrar-config") if doc.data is not None else [
        Problem.at(path, 1, "(document)", "the file is empty; it needs at least `version: 1`")]
    if not problems:
        problems += _placeholder_problems(doc) + _drift_problems(doc) + _service_problems(doc)
    if problems:
        raise ConfigError(problems)
    return _parse(path, doc.data)


def _placeholder_problems(doc: YamlDocument) -> list[Problem]:
    naming = doc.data.get("naming")
    if naming and "{project}" in naming and not doc.data.get("project"):
        return [Problem.at(doc.path, doc.line_of(("naming",)), "naming",
                           "uses {project} but no project is set")]
    return []


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a five-field cron expression, or None."""
    from croniter import croniter

    if croniter.is_valid(expression) and len(expression.split()) == 5:
        return None
    return f"{expression!r} is not a cron expression (minute hour day-of-month month weekday)"


def _drift_problems(doc: YamlDocument) -> list[Problem]:
    schedule = (doc.data.get("drift") or {}).get("schedule")
    why = cron_problem(schedule) if schedule else None
    if not why:
        return []
    return [Problem.at(doc.path, doc.line_of(("drift", "schedule")), "drift.schedule", why)]


_HTTP_ONLY = ("port", "health", "public", "interface")


def _service_problems(doc: YamlDocument) -> list[Problem]:
    """What the schema cannot say clearly: how a service starts, and the keys of its kind."""
    found = []
    for name, raw in (doc.data.get("services") or {}).items():
        for key, message in _service_mistakes(raw):
            where = ("services", name, key) if key in raw else ("services", name)
            found.append(Problem.at(doc.path, doc.line_of(where),
                                    f"services.{name}{'.' + key if key in raw else ''}", message))
    return found


def _service_mistakes(raw: dict[str, Any]) -> list[tuple[str, str]]:
    kind, mistakes = raw.get("kind"), []
    if ("entry" in raw) == ("command" in raw):
        mistakes.append(("command", "give exactly one of `entry` (module:attribute) and "
                                    "`command`"))
    if kind == "schedule" and "schedule" not in raw:
        mistakes.append(("kind", "a `schedule` service needs `schedule` (a cron expression)"))
    if "schedule" in raw and (why := cron_problem(raw["schedule"])):
        mistakes.append(("schedule", why))
    if kind != "schedule" and "schedule" in raw:
        mistakes.append(("schedule", f"only `schedule` services have a schedule, not `{kind}`"))
    mistakes += [(key, f"only `http` services have `{key}`, not `{kind}`")
                 for key in _HTTP_ONLY if kind != "http" and key in raw]
    return mistakes


def _parse(path: Path, data: dict[str, Any]) -> ProjectConfig:
    environments = {
        name: EnvironmentConfig(
            name=name,
            provider=raw.get("provider"),
            region=raw.get("region"),
            backend=dict(raw.get("backend", {})),
            apply_on_merge=bool(raw.get("apply_on_merge", False)),
            apply_requirements=tuple(raw.get("apply_requirements", ())),
            policy_owners=tuple(raw.get("policy_owners", ())),
        )
        for name, raw in (data.get("environments") or {}).items()
    }
    policy = data.get("policy") or {}
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
        policy=PolicyConfig(
            checkov=bool(policy.get("checkov", True)),
            skips=tuple(PolicySkip(s["id"], s["reason"]) for s in policy.get("skip", ())),
            custom=policy.get("custom"),
        ),
        drift=DriftConfig(schedule=(data.get("drift") or {}).get("schedule")),
        services={name: _service(name, raw)
                  for name, raw in (data.get("services") or {}).items()},
    )


def _service(name: str, raw: dict[str, Any]) -> ServiceConfig:
    return ServiceConfig(
        name=name,
        kind=raw["kind"],
        entry=raw.get("entry"),
        interface=raw.get("interface", "wsgi"),
        command=tuple(raw.get("command", ())),
        port=int(raw.get("port", DEFAULT_PORT)),
        health=raw.get("health", DEFAULT_HEALTH),
        public=bool(raw.get("public", False)),
        schedule=raw.get("schedule"),
        paths=tuple(raw.get("paths", ())),
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
