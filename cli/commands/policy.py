"""`infrar policy`: plan, then check the plan against the project's policies (checkov's built-in
checks and the repository's own custom policies)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from infrar.cli.commands.common import (
    EXIT_DIAGNOSTICS,
    EXIT_FAILED,
    OPTIONAL_PATHS,
    fail,
    load_target,
    run_options,
    target_options,
)
from infrar.cli.commands.drift import exit_1_on_diagnostics
from infrar.cli.commands.infra import _prepare, _run_errors

EXIT_POLICY_FAILED = EXIT_DIAGNOSTICS


@click.command()
@OPTIONAL_PATHS
@target_options
@run_options
@click.option("--checkov", "checkov", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="checkov executable [default: $INFRAR_CHECKOV, else .venv-checkov, else "
                   "checkov on PATH].")
@click.option("--json", "as_json", is_flag=True,
              help="Print the plan summary and the policy result as JSON.")
def policy(paths: tuple[Path, ...], provider: str | None, environment: str | None,
           region: str | None, config_file: Path | None, workdir: Path | None,
           auth_method: str | None, credentials_file: Path | None, checkov: Path | None,
           as_json: bool) -> None:
    """Plan (like `infrar plan`), then check the plan against the policies of .infrar.yaml.

    Exits 0 when every policy passes, 2 when one fails, 1 when the plan or the check could
    not run."""
    from infrar.engine.infra.runs import run_plan
    from infrar.engine.policy import PolicyError, check_plan
    from infrar.engine.terraform import show_json
    from infrar.engine.terraform.redaction import redact

    errors: tuple[type[Exception], ...] = (*_run_errors(), PolicyError)
    with exit_1_on_diagnostics():
        target = load_target(provider=provider, environment=environment, region=region,
                             config_file=config_file)
        prepared, secrets = _prepare(paths, target, workdir, auth_method, credentials_file)
    try:
        outcome = run_plan(prepared.generation, workdir=prepared.workdir, env=prepared.env,
                           secrets=secrets)
        shown = show_json(outcome.plan_file, workdir=outcome.workdir, env=prepared.env)
        result = check_plan(shown, config=target.config, project_root=target.config.root,
                            checkov=checkov)
    except errors as exc:
        fail([f"error: {redact(str(exc), secrets)}"], code=EXIT_FAILED)
    if as_json:
        document = {"plan": outcome.as_json(secrets), "policy": result.as_json()}
        click.echo(redact(json.dumps(document, indent=2), secrets))
    else:
        click.echo(outcome.text(secrets) + redact(result.text(), secrets), nl=False)
    if not result.passed:
        raise SystemExit(EXIT_POLICY_FAILED)
