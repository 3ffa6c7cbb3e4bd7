"""What the infrastructure commands share: choosing the target, finding the code, failing well."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from infrar.cli.failure import CommandFailed
from infrar.engine.diagnostics import Diagnostic, EngineError

if TYPE_CHECKING:
    from infrar.engine.config import ProjectConfig, Target
    from infrar.engine.infra.catalog import AuthMethod

EXIT_FAILED = 1
EXIT_DIAGNOSTICS = 2

F = TypeVar("F", bound=Callable[..., Any])

OPTIONAL_PATHS = click.argument(
    "paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


def target_options(function: F) -> F:
    """--provider, --environment, --region and --config, in that order on --help."""
    for option in reversed([
        click.option("--provider", "-p", default=None,
                     help="Provider plugin [default: the environment's, else .infrar.yaml's, "
                          "else $INFRAR_PROVIDER, else local]."),
        click.option("--environment", "-e", default=None,
                     help="Environment from .infrar.yaml [default: default]."),
        click.option("--region", default=None, help="Region [default: from .infrar.yaml or "
                                                    "the provider's regions.yaml]."),
        click.option("--config", "config_file", default=None,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Configuration file [default: .infrar.yaml here or above, up to "
                          "the repository root]."),
    ]):
        function = option(function)
    return function


def run_options(function: F) -> F:
    """--workdir, --auth-method and --credentials-file, for the commands that run Terraform."""
    for option in reversed([
        click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
                     help="Terraform working directory "
                          "[default: .infrar/terraform/<environment>]."),
        click.option("--auth-method", default=None,
                     help="Authentication method of the provider; its variables are read from "
                          "the environment (see `infrar credentials methods`)."),
        click.option("--credentials-file", type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
                     help="Credentials for --auth-method, instead of environment variables."),
    ]):
        function = option(function)
    return function


def load_target(*, provider: str | None, environment: str | None, region: str | None,
                config_file: Path | None) -> Target:
    from infrar.engine.config import load_project_config, resolve_target

    return guard(lambda: resolve_target(
        load_project_config(config_file=config_file), environment=environment,
        provider=provider, region=region,
        fallback_provider=os.environ.get("INFRAR_PROVIDER") or "local"))


def source_paths(paths: tuple[Path, ...], config: ProjectConfig) -> list[Path]:
    """`find_source_paths`, for a command: a missing path ends it with its message."""
    return guard(lambda: find_source_paths(paths, config))


def find_source_paths(paths: tuple[Path, ...], config: ProjectConfig) -> list[Path]:
    """The paths named, else the configuration's `paths` (each must exist; EngineError names
    the first that does not), else the project folder."""
    if paths:
        return list(paths)
    from infrar.cli.check import existing_source_paths

    existing_source_paths(config)
    return [config.root / p for p in config.paths] or [config.root]


T = TypeVar("T")


def guard(action: Callable[[], T]) -> T:
    """Run `action`; a broken plugin or configuration ends the command with its message."""
    try:
        return action()
    except EngineError as exc:
        fail([f"error: {exc}"])


def fail(lines: Iterable[str], *, code: int = EXIT_DIAGNOSTICS) -> NoReturn:
    """End the command: `lines` go to stderr and `code` is its exit status, both at the
    command line's entry (cli/main.py), which alone turns the error into an exit."""
    raise CommandFailed(lines, code)


def report(diagnostics: list[Diagnostic]) -> None:
    """Print warnings; on any error, print everything and stop: nothing is written."""
    errors = [d for d in diagnostics if d.severity == "error"]
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)
    if errors:
        fail([f"{len(errors)} problem(s); nothing was written"])


def auth_method(provider: str, name: str | None) -> AuthMethod:
    """The provider's method `name`, or its default one."""
    from infrar.engine.infra.catalog import load_plugin

    plugin = guard(lambda: load_plugin(provider))
    chosen = name or plugin.default_auth
    if chosen not in plugin.auth_methods:
        known = ", ".join(sorted(plugin.auth_methods))
        message = f"error: provider {provider!r} has no authentication method {chosen!r}"
        fail([f"{message} (has: {known})"])
    return plugin.auth_methods[chosen]
