"""`infrar`: the command line over the engine."""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import click

from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.files import replace_files, write_tree
from infrar.engine.plugins import discover, load_rules
from infrar.engine.project import REQUIREMENTS_FILE, detect_paths, transform_paths

T = TypeVar("T")

EXIT_CHANGED = 1
EXIT_DIAGNOSTICS = 2

PATHS = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))


@click.group()
@click.version_option(package_name="infrar")
def cli() -> None:
    """Write cloud code once; ship native code and the Terraform it needs."""


@cli.command()
@PATHS
@click.option("--provider", "-p", default=None,
              help="Provider to write native code for [default: the environment's, else "
                   ".infrar.yaml's, else $INFRAR_PROVIDER, else local].")
@click.option("--environment", "-e", default=None,
              help="Name resources for this environment of .infrar.yaml (physical names).")
@click.option("--config", "config_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Configuration file [default: .infrar.yaml here or above].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write a transformed mirror of the tree here, with its requirements.")
@click.option("--in-place", is_flag=True, help="Rewrite the files where they are.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff (the default).")
@click.option("--check", is_flag=True, help="Exit 1 when the output would differ from the input.")
def transform(paths: tuple[Path, ...], provider: str | None, environment: str | None,
              config_file: Path | None, out: Path | None, in_place: bool, show_diff: bool,
              check: bool) -> None:
    """Rewrite infrar SDK calls into PROVIDER's native code.

    With a .infrar.yaml (or --environment), literal resource names become the physical names
    that `infrar generate` gives the same resources, after the provider's naming rules."""
    if out and in_place:
        raise click.UsageError("--out and --in-place exclude each other")
    from infrar.cli.commands.naming import transform_settings

    provider, namer = transform_settings(list(paths), provider=provider,
                                         environment=environment, config_file=config_file)
    project = _run(lambda: transform_paths(list(paths), provider=provider, namer=namer))
    if not project.ok:
        _fail(project.diagnostics)
    if out:
        files = {rel: r.output if r.changed and r.output is not None else r.original
                 for _, rel, r in project.files}
        files[Path(REQUIREMENTS_FILE)] = "".join(f"{r}\n" for r in project.requirements).encode()
        write_tree(out, files)
        click.echo(f"wrote {len(files) - 1} files to {out} "
                   f"({len(project.changed)} rewritten) and {REQUIREMENTS_FILE}", err=True)
    if in_place:
        replace_files({file: r.output for file, _, r in project.changed if r.output is not None})
        for file, _, _ in project.changed:
            click.echo(f"rewrote {file}", err=True)
    if show_diff or not (out or in_place or check):
        for file, _, result in project.changed:
            click.echo(_diff(str(file), result.original, result.output or b""), nl=False)
    if check:
        for file, _, _ in project.changed:
            click.echo(f"would rewrite {file}", err=True)
        if project.changed:
            sys.exit(EXIT_CHANGED)


@cli.command()
@PATHS
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def detect(paths: tuple[Path, ...], as_json: bool) -> None:
    """List every use of the infrar SDK: capability, operation, resource, location."""
    found = _run(lambda: detect_paths(list(paths)))
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


def _diff(name: str, before: bytes, after: bytes) -> str:
    lines = difflib.unified_diff(
        before.decode().splitlines(True), after.decode().splitlines(True),
        fromfile=f"a/{name}", tofile=f"b/{name}")
    return "".join(lines)


def main() -> None:
    cli(prog_name="infrar")


from infrar.cli import check_commands  # noqa: E402,F401  registers check, hook, action
from infrar.cli.app_commands import app_group  # noqa: E402  `infrar app …`

cli.add_command(app_group)
from infrar.cli.commands import infra, plugins  # noqa: E402,F401  generate, plan, apply, ...
