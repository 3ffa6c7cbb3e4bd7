"""`infrar check`: can every SDK use be transformed for every configured provider?

pre-commit runs this on every commit, so its start-up time is its cost: it imports neither
`infrar.cli.main` nor the engine until a file actually mentions `infrar`. The `infrar-check`
console script runs it directly; `infrar check` is the same command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.files import SKIPPED_DIRECTORIES, python_files
from infrar.engine.source import mentions

if TYPE_CHECKING:
    from infrar.engine.config import ProjectConfig

EXIT_DIAGNOSTICS = 2  # as `infrar transform`


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def default_provider() -> str:
    return os.environ.get("INFRAR_PROVIDER", "local")


def configured_providers(config: ProjectConfig) -> tuple[str, ...]:
    """The default provider, then each environment's, each once."""
    named = [config.provider, *(e.provider for e in config.environments.values())]
    return tuple(dict.fromkeys(p for p in named if p))


def output_dir(config: ProjectConfig) -> Path | None:
    """`output:` of .infrar.yaml, resolved, refused when it leaves the repository."""
    value = config.output
    if not value:
        return None
    root = config.root.resolve()
    resolved = (root / value).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise EngineError(f"{config.path}: output: {value!r} must be a folder inside the "
                          "repository")
    return resolved


def source_paths(config: ProjectConfig) -> list[Path]:
    """`paths:` of .infrar.yaml (default: the project folder), resolved."""
    # As commands.common.source_paths, which is not imported: it loads the plugin catalog.
    configured = [config.root / p for p in config.paths] or [config.root]
    return [p.resolve() for p in configured]


def existing_source_paths(config: ProjectConfig) -> list[Path]:
    """`source_paths`, refused when one of `paths:` does not exist: a build without it
    would look complete."""
    roots = source_paths(config)
    missing = [p for p, root in zip(config.paths, roots, strict=False) if not root.exists()]
    if config.paths and missing:
        where = config.path.name if config.path else ".infrar.yaml"
        raise EngineError(f"{where}: paths: {', '.join(missing)} not found (paths are "
                          f"relative to the folder of {where})")
    return roots


def in_scope(files: Iterable[Path], config: ProjectConfig) -> list[Path]:
    """The files inside `paths:`, outside `output:` and outside skipped folders."""
    roots, output = source_paths(config), output_dir(config)
    kept = []
    for file in files:
        resolved = file.resolve()
        if output and resolved.is_relative_to(output):
            continue
        if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
            continue
        if any(part in SKIPPED_DIRECTORIES for part in file.parts[:-1]):
            continue
        kept.append(file)
    return kept


@dataclass
class CheckReport:
    files: int
    providers: tuple[str, ...]
    problems: dict[Diagnostic, list[str]]
    """Each diagnostic with the providers it happens for."""

    def lines(self) -> list[str]:
        out = []
        for diagnostic, providers in sorted(self.problems.items()):
            only = "" if len(providers) == len(self.providers) else \
                f" (for {', '.join(providers)})"
            out.append(f"{diagnostic}{only}")
        return out


def run_check(files: list[Path], providers: tuple[str, ...],
              config: ProjectConfig | None = None) -> CheckReport:
    """Run the pipeline in memory for every provider; write nothing. `files` are the roots
    of the tree: files, or folders (then constants and re-exports of other modules count)."""
    from infrar.engine.config import ProjectConfig
    from infrar.engine.pipeline import deployment_targets, run_pipeline
    from infrar.engine.plugins import get_provider

    config = config or ProjectConfig()
    for provider in providers:
        get_provider(provider)
    problems: dict[Diagnostic, list[str]] = {}
    for provider in providers:
        targets = deployment_targets(config, provider=provider)
        result = run_pipeline(files, config=config, targets=targets, build=False)
        for diagnostic in result.errors:
            problems.setdefault(diagnostic, []).append(provider)
    return CheckReport(len(files), providers, problems)


def check_paths(paths: list[Path], providers: tuple[str, ...], *, start: Path) -> CheckReport:
    """Check PATHS (default: the configured `paths:`) for PROVIDERS (default: configured)."""
    candidates = [f for f, _ in python_files(paths)] if paths else None
    if candidates is not None and not any(_mentions_sdk(f) for f in candidates):
        # Nothing to transform: no need to read (or import what validates) the config.
        return CheckReport(len(candidates), providers or (default_provider(),), {})
    from infrar.engine.config import load_project_config

    config = load_project_config(start=start)
    chosen = providers or configured_providers(config) or (default_provider(),)
    if candidates is None:
        # The whole configured tree, as `infrar transform` reads it: a constant or re-export
        # one module takes from another is checked as it will be transformed.
        roots = [display_path(p) for p in existing_source_paths(config)]
        candidates = [display_path(f) for f, _ in python_files(roots)]
        uses = any(_mentions_sdk(f) for f in in_scope(candidates, config))
        report = run_check(roots if uses else [], chosen, config)
    else:
        # Named files (a commit's, from pre-commit) are checked on their own, which is fast;
        # a name a file takes from a module not named is checked when the tree is.
        files = [f for f in in_scope(candidates, config) if _mentions_sdk(f)]
        report = run_check(files, chosen, config)
    report.files = len(candidates)
    return report


def display_path(file: Path) -> Path:
    """`file` relative to the working directory when inside it: diagnostics stay short and
    carry no machine's folder names."""
    try:
        return file.relative_to(Path.cwd().resolve())
    except ValueError:
        return file


def _mentions_sdk(file: Path) -> bool:
    """As the engine decides which files to read: a fullwidth `ｉnfrar`, or one spelled in the
    file's declared encoding, is the SDK too."""
    return mentions(file.read_bytes())


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--provider", "-p", "providers", multiple=True,
              help="Provider to check for; repeat for several. Default: those in .infrar.yaml.")
def check(paths: tuple[Path, ...], providers: tuple[str, ...]) -> None:
    """Check that every SDK use in PATHS can be transformed; write nothing.

    Each file is transformed in memory for every provider named by --provider, else every
    provider in .infrar.yaml (the default and each environment's), else $INFRAR_PROVIDER or
    local. Files outside the `paths:` of .infrar.yaml, and under its `output:`, are skipped.
    Exit status 2 when anything cannot be transformed.
    """
    try:
        report = check_paths(list(paths), providers, start=Path.cwd())
    except EngineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_DIAGNOSTICS)
    if report.problems:
        for line in report.lines():
            click.echo(line, err=True)
        click.echo(f"{plural(len(report.problems), 'problem')} in "
                   f"{plural(report.files, 'file')} checked for "
                   f"{', '.join(report.providers)}", err=True)
        sys.exit(EXIT_DIAGNOSTICS)


def main() -> None:
    check(prog_name="infrar-check")
