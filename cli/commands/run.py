"""`infrar run`: every service of the project as a local process, on the `local` provider."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from infrar.cli.commands.common import EXIT_FAILED, fail, guard, source_paths

if TYPE_CHECKING:
    from infrar.cli.supervisor import LocalProject, RunError
    from infrar.engine.config import ProjectConfig, ServiceConfig, Target


@click.command()
@click.argument("path", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--environment", "-e", default=None,
              help="Environment of .infrar.yaml whose names the services use "
                   "[default: the first one listed, else default].")
@click.option("--service", "names", multiple=True, metavar="NAME",
              help="Run only this service (repeatable) [default: every one].")
@click.option("--trigger", multiple=True, metavar="NAME",
              help="Run this schedule service once as soon as everything is up, then on its "
                   "cron (repeatable).")
def run(path: Path | None, environment: str | None, names: tuple[str, ...],
        trigger: tuple[str, ...]) -> None:
    """Run the services of the project in PATH (default: the folder of .infrar.yaml here or
    above) as local processes on the local provider, until Ctrl-C.

    The code is transformed for `local` into .infrar/run/local/, its local resources are
    planned and applied, and each service runs the transformed tree: http services on their
    port (waitress, or uvicorn for asgi), workers continuously, schedules on their cron (UTC).
    A changed source file restarts the services that reach it."""
    from infrar.cli.supervisor import Printer, RunError, Supervisor, refuse_ports_in_use
    from infrar.engine.config import find_config, load_project_config, resolve_target

    start = (path or Path.cwd()).resolve()
    config_file = find_config(start)
    if config_file is None:
        fail([f"error: no .infrar.yaml in {start} or above: `infrar run` runs its `services:`"])
    config = guard(lambda: load_project_config(config_file=config_file))
    services = _chosen(config, names, trigger)
    chosen = environment or next(iter(config.environments), None)
    target = guard(lambda: resolve_target(config, environment=chosen, provider="local"))
    project = _project(config, target)
    printer = Printer(s.name for s in services)
    try:
        refuse_ports_in_use(services)
        supervisor = Supervisor(project, services, printer, trigger=trigger)
        project.build()
        project.ensure_resources(printer.say, always=True)
    except RunError as exc:
        _fail(exc)
    printer.say(f"running {len(services)} service(s) of {config_file.parent.name} in "
                f"{target.environment} (local); Ctrl-C stops them")
    raise SystemExit(supervisor.run())


def _chosen(config: ProjectConfig, names: tuple[str, ...],
            trigger: tuple[str, ...]) -> list[ServiceConfig]:
    if not config.services:
        fail([f"error: {config.path}: no `services:` to run (see docs/services.md)"])
    known = ", ".join(sorted(config.services))
    for name in (*names, *trigger):
        if name not in config.services:
            raise click.BadParameter(f"no service {name!r} in {config.path} (has: {known})")
    for name in trigger:
        if config.services[name].kind != "schedule":
            raise click.BadParameter(f"{name!r} is a {config.services[name].kind} service; "
                                     "--trigger runs schedule services")
    if names and (missing := [t for t in trigger if t not in names]):
        raise click.BadParameter(f"--trigger {missing[0]} is not among the --service chosen")
    return [s for n, s in config.services.items() if not names or n in names]


def _project(config: ProjectConfig, target: Target) -> LocalProject:
    from infrar.cli.supervisor import PROVIDER, RUN_DIR, LocalProject, process_environment

    root = config.root.resolve()
    environ = process_environment(root, target.environment, root / RUN_DIR / PROVIDER,
                                  dict(os.environ))
    return LocalProject(target, source_paths((), config), environ)


def _fail(exc: RunError) -> None:
    for diagnostic in exc.diagnostics:
        click.echo(str(diagnostic), err=True)
    code = 2 if exc.diagnostics else EXIT_FAILED
    fail([f"error: {exc}"], code=code)
