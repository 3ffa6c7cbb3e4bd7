"""Walk the paths a user names, and write results without ever leaving half a tree behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

SKIPPED_DIRECTORIES = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".infrar", "build", "dist",
})


def python_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """(file, path relative to the root it was found under), sorted, each once."""
    seen: set[Path] = set()
    for root in paths:
        if root.is_file():
            candidates = [(root, Path(root.name))]
        else:
            candidates = [(f, f.relative_to(root)) for f in _walk(root)]
        for file, relative in candidates:
            resolved = file.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield file, relative


def _walk(root: Path) -> list[Path]:
    found = []
    for folder, directories, files in os.walk(root):
        directories[:] = sorted(d for d in directories if d not in SKIPPED_DIRECTORIES)
        found += [Path(folder) / f for f in sorted(files) if f.endswith((".py", ".pyi"))]
    return found


def write_tree(destination: Path, files: dict[Path, bytes]) -> None:
    """Write every file under `destination` or none: stage in a sibling folder, then move in."""
    destination.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".infrar-staging-", dir=destination))
    try:
        for relative, data in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for relative in files:
            final = destination / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_files(files: dict[Path, bytes]) -> None:
    """Rewrite files in place; each replacement is atomic, and all are staged before any lands."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            fd, temporary = tempfile.mkstemp(prefix=".infrar-", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            shutil.copymode(path, temporary)
            staged.append((temporary, path))
        for temporary, path in staged:
            os.replace(temporary, path)
        staged.clear()
    finally:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
