"""`infrar detect`: every use of the SDK."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from infrar.cli.commands.common import OPTIONAL_PATHS, fail, guard


@click.command()
@OPTIONAL_PATHS
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def detect(paths: tuple[Path, ...], as_json: bool) -> None:
    """List every use of the infrar SDK in PATHS (default: `paths:` of .infrar.yaml):
    capability, operation, resource, location."""
    from infrar.engine.project import detect_paths

    found = guard(lambda: detect_paths(list(paths) or _configured_paths()))
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
        fail([*map(str, found.diagnostics),
              f"{len(found.diagnostics)} problem(s); nothing was written"])


def _configured_paths() -> list[Path]:
    from infrar.engine.config import load_project_config

    config = load_project_config()
    return [config.root / p for p in config.paths] or [config.root]
