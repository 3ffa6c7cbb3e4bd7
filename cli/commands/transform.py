"""`infrar transform`: the engine pipeline, written out as the user asks."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from infrar.cli.check import output_dir
from infrar.cli.commands.common import OPTIONAL_PATHS, fail, guard, source_paths
from infrar.cli.main import EXIT_CHANGED
from infrar.engine.diagnostics import EngineError
from infrar.engine.files import python_files
from infrar.engine.source import mentions

if TYPE_CHECKING:
    from infrar.engine.config import ProjectConfig
    from infrar.engine.pipeline import PipelineResult


@click.command()
@OPTIONAL_PATHS
@click.option("--provider", "-p", default=None,
              help="Provider to write native code for [default: each environment's, else "
                   ".infrar.yaml's, else $INFRAR_PROVIDER, else local].")
@click.option("--environment", "-e", default=None,
              help="Serve only this environment of .infrar.yaml [default: every one].")
@click.option("--config", "config_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Configuration file [default: .infrar.yaml here or above].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write the transformed tree of each provider to OUT/<provider>/.")
@click.option("--in-place", is_flag=True,
              help="Rewrite the files where they are, with the native package beside them.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff (the default).")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when any file would change: with --out, a file "
                   "of OUT; else a source file.")
def transform(paths: tuple[Path, ...], provider: str | None, environment: str | None,
              config_file: Path | None, out: Path | None, in_place: bool, show_diff: bool,
              check: bool) -> None:
    """Point SDK imports in PATHS (default: `paths:` of .infrar.yaml) at a generated native
    package, one per provider, that holds the SDK's names in plain native code.

    The package maps logical resource names to physical ones for every environment the
    provider serves; the program picks its environment from INFRAR_ENVIRONMENT."""
    if out and in_place:
        raise click.UsageError("--out and --in-place exclude each other")
    from infrar.engine.config import load_project_config

    config = guard(lambda: load_project_config(config_file=config_file))
    guard(lambda: output_dir(config))  # refused outside the project, or as the project
    roots = source_paths(paths, config)
    if out is not None:
        _refuse_output_holding_sources(out, roots)
    if check and out is None and provider is None and environment is None and paths \
            and not _uses_sdk(roots):
        return  # no file mentions the SDK: none would be rewritten (and no engine is loaded)
    from infrar.cli.hook_commands import leftover_files, remove_files
    from infrar.engine.files import write_tree
    from infrar.engine.native import PACKAGE
    from infrar.engine.pipeline import build_files

    result = guard(lambda: _pipeline(roots, config, provider, environment, out))
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    if not result.ok:
        fail([*map(str, result.errors), f"{len(result.errors)} problem(s); nothing was written"])
    if check:
        _check(result, out, show_diff)
        return
    if out:
        files = build_files(result.builds)
        leftovers = leftover_files(files, out)
        write_tree(out, files)
        remove_files(out, leftovers)  # what an earlier run wrote and this one would not
        removed = f"; removed {len(leftovers)} stale file(s)" if leftovers else ""
        click.echo(f"wrote {', '.join(f'{out / p}/' for p in result.builds)} "
                   f"({len(result.changed)} file(s) rewritten, native package {PACKAGE}/"
                   f"{removed})", err=True)
    elif in_place:
        guard(lambda: _write_in_place(roots, result))
    if show_diff or not (out or in_place):
        for file in result.changed.values():
            click.echo(_diff(file.path, file.original, file.output or b""), nl=False)


def _uses_sdk(roots: list[Path]) -> bool:
    """Whether any Python file under `roots` mentions `infrar` as the engine decides it."""
    return any(mentions(file.read_bytes()) for file, _ in python_files(roots))


def _pipeline(roots: list[Path], config: ProjectConfig, provider: str | None,
              environment: str | None, out: Path | None) -> PipelineResult:
    from infrar.engine.pipeline import deployment_targets, run_pipeline

    targets = deployment_targets(config, provider=provider, environment=environment)
    # What an earlier run wrote to OUT is output, never source (OUT may be inside PATHS).
    return run_pipeline(roots, config=config, targets=targets, exclude=out)


def _refuse_output_holding_sources(out: Path, roots: list[Path]) -> None:
    resolved = out.resolve()
    for root in roots:
        if root.resolve().is_relative_to(resolved):
            raise click.UsageError(f"--out {out} holds the source path {root}: choose a "
                                   "folder of its own (it is never read as source)")


def _check(result: PipelineResult, out: Path | None, show_diff: bool) -> None:
    """Write nothing. With --out: exit 1 when OUT is not what the transform writes there
    (a file missing or different); else when any source file would be rewritten."""
    if show_diff:
        for file in result.changed.values():
            click.echo(_diff(file.path, file.original, file.output or b""), nl=False)
    if out is not None:
        from infrar.cli.hook_commands import leftover_files, stale_files
        from infrar.engine.pipeline import build_files

        expected = build_files(result.builds)
        stale, leftovers = stale_files(expected, out), leftover_files(expected, out)
        for path in sorted(stale):
            click.echo(f"would write {out / path}", err=True)
        for path in leftovers:
            click.echo(f"would remove {out / path}", err=True)
        if stale or leftovers:
            sys.exit(EXIT_CHANGED)
        return
    for file in result.changed.values():
        click.echo(f"would rewrite {file.path}", err=True)
    if result.changed:
        sys.exit(EXIT_CHANGED)


def _write_in_place(roots: list[Path], result: PipelineResult) -> None:
    if len(result.builds) > 1:
        raise click.UsageError(f"--in-place writes one provider's tree, and this project "
                               f"deploys to {', '.join(result.builds)}: choose one with -p, "
                               "or use --out")
    build = next(iter(result.builds.values()), None)
    if build is None:
        return
    from infrar.engine.files import replace_files, write_tree
    from infrar.engine.native import PACKAGE

    files = {Path(file.path): file.output for file in result.changed.values()
             if file.output is not None}
    for root in dict.fromkeys(r if r.is_dir() else r.parent for r in roots):
        package = {root / p: data for p, data in build.files.items() if p.startswith(PACKAGE + "/")}
        if result.changed and package:
            try:
                write_tree(root, {p.relative_to(root): d for p, d in package.items()})
            except OSError as exc:
                raise EngineError(f"cannot write {root / PACKAGE}: {exc}") from None
    replace_files(files)
    for file in files:
        click.echo(f"rewrote {file}", err=True)


def _diff(name: str, before: bytes, after: bytes) -> str:
    lines = difflib.unified_diff(
        before.decode().splitlines(True), after.decode().splitlines(True),
        fromfile=f"a/{name}", tofile=f"b/{name}")
    return "".join(lines)
