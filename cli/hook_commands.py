"""What the `infrar-generate` and `infrar-validate-plugins` pre-commit hooks run."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from infrar.cli.check import display_path, existing_source_paths, output_dir, plural
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.files import write_tree

if TYPE_CHECKING:
    from infrar.engine.config import ProjectConfig

EXIT_STALE = 1
EXIT_PROBLEMS = 2


class Problems(Exception):
    """Code that cannot be transformed: `diagnostics` say where; `lines` are their text."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        self.lines = [str(d) for d in self.diagnostics]
        super().__init__("\n".join(self.lines))


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
        raise Problems(result.errors)
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


def _git(cwd: Path, *args: str) -> bytes | None:
    """`git ARGS` in `cwd` (argument lists only, never a shell); None when git fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def staged_blobs(output: Path, cwd: Path) -> dict[Path, str] | None:
    """The object id of each file staged under `output` (regular files only; a symlink or a
    submodule is given as ""), relative to `output`, from `git ls-files -s`; None when
    `output` is not in the git work tree of `cwd`, or is ignored there (then it is not
    committed). Honours GIT_INDEX_FILE, as git sets it for hooks."""
    top = _git(cwd, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    root = Path(os.fsdecode(top.rstrip(b"\n"))).resolve()
    if not output.resolve().is_relative_to(root):
        return None
    relative = output.resolve().relative_to(root)
    if _git(root, "check-ignore", "-q", "--", relative.as_posix()) is not None:
        return None
    listed = _git(root, "ls-files", "--stage", "-z", "--full-name", "--", relative.as_posix())
    if listed is None:
        return None
    blobs: dict[Path, str] = {}
    for entry in listed.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, object_id, _stage = meta.decode().split()
        path = Path(os.fsdecode(name))
        if path.is_relative_to(relative):
            blobs[path.relative_to(relative)] = object_id if mode in ("100644", "100755") else ""
    return blobs


def blob_id(data: bytes, object_id_length: int) -> str:
    """The id git gives a blob holding `data` (SHA-1, or SHA-256 in such a repository)."""
    algorithm = hashlib.sha256 if object_id_length == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


def unstaged_files(expected: dict[Path, bytes], staged: dict[Path, str]) -> list[Path]:
    """The expected files whose staged content is not what is expected (or not staged)."""
    length = len(next((i for i in staged.values() if i), "0" * 40))
    return sorted(rel for rel, data in expected.items()
                  if staged.get(rel) != blob_id(data, length))


def staged_leftovers(expected: dict[Path, bytes], staged: dict[Path, str]) -> list[Path]:
    """As `leftover_files`, in the index: staged files of a generated tree that this run
    would not write, whose removal is not staged."""
    from infrar.engine.native import PACKAGE
    from infrar.engine.pipeline import REQUIREMENTS_FILE

    trees = {rel.parts[0] for rel in [*expected, *staged]
             if len(rel.parts) == 3 and rel.parts[1:] == (PACKAGE, "__init__.py")}
    return sorted(rel for rel in staged if rel not in expected and len(rel.parts) > 1
                  and rel.parts[0] in trees
                  and (rel.name.endswith((".py", ".pyi")) or rel.name == REQUIREMENTS_FILE))


def regenerate(cwd: Path) -> int:
    """Bring the generated output up to date; 1 when anything had to be rewritten, or when
    the index (what is committed) does not hold what the working tree now does."""
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
    # What is committed is the index, not the working tree: a file rewritten by an earlier
    # run and never staged is still stale (as a formatter's hook fails on unstaged fixes).
    staged = staged_blobs(output, config.root)
    unstaged = [] if staged is None else \
        [rel for rel in unstaged_files(expected, staged) if rel not in stale]
    unremoved = [] if staged is None else \
        [rel for rel in staged_leftovers(expected, staged) if rel not in leftovers]
    if not (stale or leftovers or unstaged or unremoved):
        return 0
    write_tree(output, stale)
    remove_files(output, leftovers)
    shown = output.relative_to(config.root.resolve())
    for relative in sorted(stale):
        click.echo(f"infrar-generate: rewrote stale {(shown / relative).as_posix()}", err=True)
    for relative in leftovers:
        click.echo(f"infrar-generate: removed stale {(shown / relative).as_posix()}", err=True)
    for relative in unstaged:
        click.echo(f"infrar-generate: not staged: {(shown / relative).as_posix()}", err=True)
    for relative in unremoved:
        click.echo(f"infrar-generate: removal not staged: {(shown / relative).as_posix()}",
                   err=True)
    stage = f"`git add -A {shown.as_posix()}`"
    if stale or leftovers:
        click.echo(f"{plural(len(stale) + len(leftovers), 'generated file')} stale, now "
                   f"regenerated; review and stage them ({stage})", err=True)
    if unstaged or unremoved:
        click.echo(f"{plural(len(unstaged) + len(unremoved), 'generated file')} up to date "
                   f"but not staged; stage them ({stage})", err=True)
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

