"""`infrar providers list` and `infrar providers validate`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click

from infrar.cli.commands.common import fail, guard


@click.group()
def providers() -> None:
    """Provider plugins."""


@providers.command("list")
def providers_list() -> None:
    """List the providers found (built in, then INFRAR_PLUGIN_PATH) and what they support."""
    from infrar.engine.plugins import discover, load_rules

    for name, provider in sorted(discover().items()):
        services = []
        for capability in sorted(provider.rules_files()):
            rules = guard(partial(load_rules, name, capability))
            services.append(f"{capability}/{rules.service}")
        click.echo(f"{name:<10} {', '.join(services):<30} {provider.root}")


@providers.command("validate")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def providers_validate(path: Path) -> None:
    """Check the provider plugin at PATH (or each one in it): every file, schema and template."""
    from infrar.engine.infra.catalog import validate_plugin_dir

    problems = validate_plugin_dir(path)
    if problems:
        fail([*problems, f"{len(problems)} problem(s) in {path}"])
    click.echo(f"{path}: valid")
