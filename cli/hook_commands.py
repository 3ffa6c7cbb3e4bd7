"""What the `infrar-generate` and `infrar-validate-plugins` pre-commit hooks run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from infrar.cli.check import display_path, existing_source_paths, output_dir, plural
from infrar.engine.diagnostics import EngineError
from infrar.engine.files import write_tree

if TYPE_CHECKING:
    from infrar.engine.config import ProjectConfig

EXIT_STALE = 1
EXIT_PROBLEMS = 2


class Problems(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def expected_output(config: ProjectConfig, *, output: Path | None,
                    provider: str | None = None,
                    environment: str | None = None) -> dict[Path, bytes]:
    """What `infrar transform --out OUTPUT` writes for the configured paths: the transformed
    tree of each provider, in a folder of its own. What is under `output` is never read as
    source, whatever `paths:` says."""
    from infrar.engine.pipeline import build_files, deployment_targets, run_pipeline

    targets = deployment_targets(config, provider=provider, environment=environment)
    roots = [display_path(p) for p in existing_source_paths(config)]
    result = run_pipeline(roots, config=config, targets=targets, workspace=config.root,
                          exclude=output)
    if not result.ok:
        raise Problems([str(d) for d in result.errors])
    return build_files(result.builds)


def stale_files(expected: dict[Path, bytes], output: Path) -> dict[Path, bytes]:
    return {rel: data for rel, data in expected.items() if _read(output / rel) != data}


def regenerate(cwd: Path) -> int:
    """Bring the generated output up to date; 1 when anything had to be rewritten."""
    from infrar.engine.config import load_project_config

    try:
        config = load_project_config(start=cwd)
        output = output_dir(config)
        if output is None:
            click.echo("infrar-generate: no `output:` in .infrar.yaml; nothing to generate",
                       err=True)
            return 0
        # Seam: when `infrar generate` commits Terraform too, its files are one more mapping
        # here, compared and rewritten the same way.
        expected = expected_output(config, output=output)
    except EngineError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_PROBLEMS
    except Problems as exc:
        for line in exc.lines:
            click.echo(line, err=True)
        click.echo(f"{plural(len(exc.lines), 'problem')}; nothing was generated", err=True)
        return EXIT_PROBLEMS
    stale = stale_files(expected, output)
    if not stale:
        return 0
    write_tree(output, stale)
    shown = output.relative_to(config.root.resolve())
    for relative in sorted(stale):
        click.echo(f"infrar-generate: rewrote stale {(shown / relative).as_posix()}", err=True)
    click.echo(f"{plural(len(stale), 'generated file')} stale, now regenerated; "
               "review and `git add` them", err=True)
    return EXIT_STALE


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def plugin_root(file: Path) -> Path | None:
    """The provider folder a plugin file belongs to: the nearest one with `provider.yaml`, else
    the folder holding the `services/` the file is under."""
    parents = file.resolve().parents
    for folder in parents:
        if (folder / "provider.yaml").is_file():
            return folder
    return next((folder.parent for folder in parents if folder.name == "services"), None)


def validate_plugins(files: list[Path]) -> int:
    """Validate each provider plugin that `files` belong to, with `infrar providers validate`'s
    validator (schemas, cross-references, templates rendered with sample values)."""
    from infrar.engine.infra.catalog import validate_plugin_dir

    roots = sorted({root for root in map(plugin_root, files) if root is not None})
    failed = 0
    for root in roots:
        problems = validate_plugin_dir(display_path(root))
        for line in problems:
            click.echo(line, err=True)
        failed += bool(problems)
    if failed:
        click.echo(f"{failed} of {plural(len(roots), 'provider plugin')} invalid", err=True)
        return EXIT_PROBLEMS
    return 0

