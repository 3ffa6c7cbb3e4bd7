"""`infrar`: the command line over the engine."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import click

from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.plugins import discover, load_rules
from infrar.engine.project import detect_paths

T = TypeVar("T")

EXIT_CHANGED = 1
EXIT_DIAGNOSTICS = 2

PATHS = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


@click.group()
@click.version_option(package_name="infrar")
def cli() -> None:
    """Write cloud code once; ship native code and the Terraform it needs."""


@cli.command()
@PATHS
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def detect(paths: tuple[Path, ...], as_json: bool) -> None:
    """List every use of the infrar SDK in PATHS (default: `paths:` of .infrar.yaml):
    capability, operation, resource, location."""
    found = _run(lambda: detect_paths(list(paths) or _configured_paths()))
    if as_json:
        uses = [dataclasses.asdict(u) for u in found.uses]
        problems = [dataclasses.asdict(d) for d in found.diagnostics]
        click.echo(json.dumps({"uses": uses, "diagnostics": problems}, indent=2))
    else:
        for use in found.uses:
            names = ", ".join(f"{k}={v if v is not None else '<dynamic>'}"
                              for k, v in use.resources.items())
            click.echo(f"{use.location}: {use.capability}.{use.operation} {names}".rstrip())
    if found.diagnostics:
        _fail(found.diagnostics)


@cli.group()
def providers() -> None:
    """Provider plugins."""


@providers.command("list")
def providers_list() -> None:
    """List the providers found (built in, then INFRAR_PLUGIN_PATH) and what they support."""
    for name, provider in sorted(discover().items()):
        services = []
        for capability in sorted(provider.rules_files()):
            rules = _run(partial(load_rules, name, capability))
            services.append(f"{capability}/{rules.service}")
        click.echo(f"{name:<10} {', '.join(services):<30} {provider.root}")


def _configured_paths() -> list[Path]:
    from infrar.engine.config import load_project_config

    config = load_project_config()
    return [config.root / p for p in config.paths] or [config.root]


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except EngineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_DIAGNOSTICS)


def _fail(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)
    click.echo(f"{len(diagnostics)} problem(s); nothing was written", err=True)
    sys.exit(EXIT_DIAGNOSTICS)


def main() -> None:
    cli(prog_name="infrar")


from infrar.cli import check_commands  # noqa: E402,F401  registers check, hook, action
from infrar.cli.app_commands import app_group  # noqa: E402  `infrar app …`

cli.add_command(app_group)
from infrar.cli.commands import infra, plugins, transform  # noqa: E402,F401  generate, plan, ...
