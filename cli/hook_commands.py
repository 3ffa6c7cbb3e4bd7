"""What the `infrar-generate` and `infrar-validate-plugins` pre-commit hooks run."""

from __future__ import annotations

import os
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


def leftover_files(expected: dict[Path, bytes], output: Path) -> list[Path]:
    """Files an earlier run wrote under `output` that this one would not (a module since
    deleted, a provider no longer deployed to), relative to `output`: in each provider folder
    that holds a generated native package, the Python and requirements files not expected.
    Nothing else is ever touched, and no symlink is followed."""
    from infrar.engine.native import PACKAGE
    from infrar.engine.pipeline import REQUIREMENTS_FILE

    if not output.is_dir() or output.is_symlink():
        return []
    found = []
    for folder in sorted(output.iterdir()):
        package = folder / PACKAGE
        if folder.is_symlink() or package.is_symlink() or not (package / "__init__.py").is_file():
            continue  # not a tree infrar wrote
        for parent, directories, files in os.walk(folder):
            directories[:] = [d for d in directories if not Path(parent, d).is_symlink()]
            for name in files:
                path = Path(parent, name)
                generated = name.endswith((".py", ".pyi")) or name == REQUIREMENTS_FILE
                relative = path.relative_to(output)
                if generated and not path.is_symlink() and relative not in expected:
                    found.append(relative)
    return sorted(found)


def remove_files(output: Path, relatives: list[Path]) -> None:
    for relative in relatives:
        (output / relative).unlink(missing_ok=True)
        for folder in (output / relative).parents:
            if folder == output or any(folder.iterdir()):
                break
            folder.rmdir()


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
    leftovers = leftover_files(expected, output)
    if not stale and not leftovers:
        return 0
    write_tree(output, stale)
    remove_files(output, leftovers)
    shown = output.relative_to(config.root.resolve())
    for relative in sorted(stale):
        click.echo(f"infrar-generate: rewrote stale {(shown / relative).as_posix()}", err=True)
    for relative in leftovers:
        click.echo(f"infrar-generate: removed stale {(shown / relative).as_posix()}", err=True)
    click.echo(f"{plural(len(stale) + len(leftovers), 'generated file')} stale, now "
               f"regenerated; review and stage them (`git add -A {shown.as_posix()}`)",
               err=True)
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

