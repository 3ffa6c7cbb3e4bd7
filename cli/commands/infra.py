"""`infrar generate`, `infrar plan`, `infrar apply`: the Terraform a program needs, and runs of
it."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from infrar.cli.commands.common import (
    EXIT_FAILED,
    OPTIONAL_PATHS,
    fail,
    guard,
    load_target,
    report,
    run_options,
    source_paths,
    target_options,
)
from infrar.cli.commands.common import (
    auth_method as common_auth_method,
)

if TYPE_CHECKING:
    from infrar.engine.config import Target
    from infrar.engine.infra.generate import Generation
    from infrar.engine.infra.runs import PreparedRun


def _run_errors() -> tuple[type[Exception], ...]:
    from infrar.engine.terraform import (
        OfflineSetupError,
        StalePlanError,
        TerraformError,
        TerraformNotFoundError,
    )

    return (TerraformError, StalePlanError, TerraformNotFoundError, OfflineSetupError)


@click.command()
@OPTIONAL_PATHS
@target_options
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the Terraform configuration into.")
def generate(paths: tuple[Path, ...], provider: str | None, environment: str | None,
             region: str | None, config_file: Path | None, out: Path) -> None:
    """Write the Terraform that the code under PATHS needs (default: .infrar.yaml's paths)."""
    from infrar.engine.infra.generate import write_generated

    target = load_target(provider=provider, environment=environment, region=region,
                         config_file=config_file)
    project_dir = os.path.relpath(target.config.root.resolve(), out.resolve())
    result = _generate(paths, target, project_dir)
    removed = write_generated(out, result.files)
    click.echo(f"wrote {len(result.files)} files for {target.provider} ({target.environment}) "
               f"to {out}" + (f"; removed {len(removed)} stale" if removed else ""), err=True)


def _generate(paths: tuple[Path, ...], target: Target, project_dir: str) -> Generation:
    from infrar.engine.infra.generate import generate_paths

    result = guard(lambda: generate_paths(source_paths(paths, target.config), target=target,
                                          project_dir=Path(project_dir).as_posix()))
    report(result.diagnostics)
    return result


def _prepare(paths: tuple[Path, ...], target: Target, workdir: Path | None,
             auth_method: str | None, credentials_file: Path | None
             ) -> tuple[PreparedRun, tuple[str, ...]]:
    """The generated Terraform, its folder and environment (with the credentials of
    `auth_method`), and the secrets to keep out of what is printed."""
    prepared = guard(lambda: _prepare_run(paths, target, workdir))
    if not auth_method:
        return prepared, ()
    from infrar.engine.infra.credentials import credentials_for, require

    method = common_auth_method(target.provider, auth_method)
    credentials = guard(lambda: require(credentials_for(
        method, environ=os.environ, file=credentials_file)))
    env = {**prepared.env, **credentials.environment}
    return dataclasses.replace(prepared, env=env), credentials.secrets


def _prepare_run(paths: tuple[Path, ...], target: Target, workdir: Path | None) -> PreparedRun:
    from infrar.engine.infra.runs import GenerationFailed, prepare_run

    try:
        prepared = prepare_run(target, source_paths(paths, target.config),
                               environ=os.environ, workdir=workdir)
    except GenerationFailed as exc:
        report(exc.diagnostics)  # prints them all, then stops
        raise
    report(prepared.generation.diagnostics)
    return prepared


@click.command()
@OPTIONAL_PATHS
@target_options
@run_options
@click.option("--markdown", is_flag=True, help="Print the summary as Markdown (for comments).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON: counts, each resource's action, the saved plan "
                   "and its digest, the estimated cost and the diagnostics.")
def plan(paths: tuple[Path, ...], provider: str | None, environment: str | None,
         region: str | None, config_file: Path | None, workdir: Path | None,
         auth_method: str | None, credentials_file: Path | None, markdown: bool,
         as_json: bool) -> None:
    """Generate, then plan into a saved plan and print its summary and estimated cost."""
    if markdown and as_json:
        raise click.UsageError("--markdown and --json are alternatives; choose one")
    target = load_target(provider=provider, environment=environment, region=region,
                         config_file=config_file)
    from infrar.engine.infra.runs import run_plan
    from infrar.engine.terraform.redaction import redact

    prepared, secrets = _prepare(paths, target, workdir, auth_method, credentials_file)
    try:
        outcome = run_plan(prepared.generation, workdir=prepared.workdir, env=prepared.env,
                           secrets=secrets)
    except _run_errors() as exc:
        fail([f"error: {redact(str(exc), secrets)}"], code=EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(outcome.as_json(secrets), indent=2))
        return
    if markdown:
        title = f"infrar plan: {target.provider} / {target.environment}"
        click.echo(outcome.markdown(title, secrets), nl=False)
    else:
        click.echo(outcome.text(secrets), nl=False)
    click.echo(_services_review(paths, target, prepared.generation), nl=False)


def _services_review(paths: tuple[Path, ...], target: Target, generation: Generation) -> str:
    """The services, their images and the rights each one gets (the review's table)."""
    from infrar.engine.infra.compute import rights_from_code, services_review

    rights = generation.services or rights_from_code(source_paths(paths, target.config), target)
    review = services_review(rights, provider=target.provider,
                             deployed=generation.plugin.compute is not None)
    return "\n" + review if review else ""


@click.command()
@OPTIONAL_PATHS
@target_options
@run_options
@click.option("--base-image", envvar="INFRAR_BASE_IMAGE", metavar="IMAGE",
              help="Base of the service images (default: a digest-pinned python slim image).")
def apply(paths: tuple[Path, ...], provider: str | None, environment: str | None,
          region: str | None, config_file: Path | None, workdir: Path | None,
          auth_method: str | None, credentials_file: Path | None,
          base_image: str | None) -> None:
    """Apply the saved plan of `infrar plan`, if the code still generates what was planned;
    with services on a cloud, then build, push and deploy their images and check their
    health."""
    target = load_target(provider=provider, environment=environment, region=region,
                         config_file=config_file)
    from infrar.engine.deploy import runs_services
    from infrar.engine.infra.runs import run_apply
    from infrar.engine.terraform.redaction import redact

    prepared, secrets = _prepare(paths, target, workdir, auth_method, credentials_file)
    if runs_services(prepared.generation):
        _deploy(target, prepared, secrets, base_image)
        return
    try:
        applied = run_apply(prepared.generation, workdir=prepared.workdir, env=prepared.env,
                            secrets=secrets)
    except _run_errors() as exc:
        fail([f"error: {redact(str(exc), secrets)}"], code=EXIT_FAILED)
    click.echo(redact(applied.output, secrets), nl=False)


def _deploy(target: Target, prepared: PreparedRun, secrets: tuple[str, ...],
            base_image: str | None) -> None:
    """Apply, build, push, apply the images, check health: each step shown as it runs."""
    import sys

    from infrar.cli.progress import progress_to
    from infrar.engine.deploy import DeployError, deploy, deployment_for
    from infrar.engine.images import DEFAULT_BASE_IMAGE
    from infrar.engine.infra.runs import run_apply
    from infrar.engine.terraform.redaction import redact

    deployment = guard(lambda: deployment_for(
        target, workdir=prepared.workdir, env=prepared.env, secrets=secrets,
        base_image=base_image or DEFAULT_BASE_IMAGE, environ=os.environ))

    def apply_reviewed(on_line: Callable[[str], None]) -> str:
        return run_apply(prepared.generation, workdir=prepared.workdir, env=prepared.env,
                         secrets=secrets, on_output=on_line).output

    try:
        with progress_to(sys.stderr) as progress:
            report = deploy(deployment, apply_reviewed=apply_reviewed, progress=progress)
    except DeployError as exc:
        click.echo(redact(exc.report.text(), secrets), nl=False)
        fail([f"error: {redact(str(exc), secrets)}"], code=EXIT_FAILED)
    click.echo(redact(report.text(), secrets), nl=False)
