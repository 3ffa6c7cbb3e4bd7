"""`infrar drift`: does what is deployed still match the code? A plan against the state that
`infrar apply` keeps, read and thrown away."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from infrar.cli.commands.common import (
    EXIT_DIAGNOSTICS,
    EXIT_FAILED,
    fail,
    load_target,
    run_options,
)
from infrar.cli.commands.infra import _prepare, _run_errors
from infrar.cli.failure import CommandFailed


@contextmanager
def exit_1_on_diagnostics() -> Iterator[None]:
    """For commands whose exit code 2 means a finding (drift, a failed policy): a broken
    configuration or code with errors, reported as usual, exits 1 instead."""
    try:
        yield
    except CommandFailed as failed:
        if failed.code == EXIT_DIAGNOSTICS:
            raise CommandFailed(failed.lines, EXIT_FAILED) from None
        raise


@click.command()
@click.argument("path", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--environment", "-e", default=None,
              help="Environment from .infrar.yaml [default: default].")
@click.option("--provider", default=None,
              help="Provider plugin [default: the environment's, else .infrar.yaml's, "
                   "else $INFRAR_PROVIDER, else local].")
@run_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON: each drifted resource, its action and changes.")
def drift(path: Path | None, environment: str | None, provider: str | None,
          workdir: Path | None, auth_method: str | None, credentials_file: Path | None,
          as_json: bool) -> None:
    """Plan the project at PATH (default: here) against what is deployed in its environment.

    Exits 0 when nothing drifted, 2 when something did (each resource and what differs is
    listed), 1 when the check could not run."""
    from infrar.engine.config import find_config
    from infrar.engine.drift import detect_drift
    from infrar.engine.terraform.redaction import redact

    folder = (path or Path.cwd()).resolve()
    config_file = find_config(folder)
    if config_file is None and path is not None:
        fail([f"error: no .infrar.yaml in {folder} or above it"], code=EXIT_FAILED)
    with exit_1_on_diagnostics():
        target = load_target(provider=provider, environment=environment, region=None,
                             config_file=config_file)
        prepared, secrets = _prepare((), target, workdir, auth_method, credentials_file)
    try:
        report = detect_drift(prepared.generation, workdir=prepared.workdir, env=prepared.env,
                              environment=target.environment, secrets=secrets)
    except _run_errors() as exc:
        fail([f"error: {redact(str(exc), secrets)}"], code=EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(report.as_json(secrets), indent=2))
    else:
        click.echo(report.text(secrets), nl=False)
    sys.exit(report.exit_code)
