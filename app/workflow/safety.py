"""What in a checkout would make the App read outside it: configured paths that leave the
repository, and symlinks that point out of it; folders the App writes that the checkout cannot
redirect; and the worker's folders kept out of what the App shows."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from infrar.engine.config import ProjectConfig


def outside_paths(root: Path, config: ProjectConfig) -> list[str]:
    return configured_outside(root, config) + symlinks_outside(root)


def configured_outside(folder: Path, config: ProjectConfig, *, shown: str = ".infrar.yaml",
                       where: str = "the repository") -> list[str]:
    """Configured `paths` that leave `folder` (the configuration's own folder)."""
    real = folder.resolve()
    return [f"{shown}: paths: {p!r} is outside {where}"
            for p in config.paths if not (folder / p).resolve().is_relative_to(real)]


def symlinks_outside(root: Path) -> list[str]:
    real_root = root.resolve()
    found = []
    for folder, directories, files in os.walk(root):
        directories[:] = [d for d in directories if d != ".git"]
        for name in directories + files:
            path = Path(folder, name)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                found.append(f"{path.relative_to(root).as_posix()}: symlink to outside the "
                             "repository")
    return found


def fresh_dir(root: Path, relative: str) -> Path:
    """`root/relative` as a new empty folder, whatever the checkout had there: a folder and its
    files, a file, or a symlink (which would make the App write, and plan, somewhere else in
    the repository) at that path or any folder on the way to it."""
    path = root
    for part in Path(relative).parts:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def repository_relative(text: str, checkout: Path, *scratch_dirs: Path) -> str:
    """`text` without the worker's folders: paths in the checkout become repository paths (the
    checkout itself `.`), then paths in the scratch folders become relative to them."""
    for folder in (checkout, *scratch_dirs):
        for shown in dict.fromkeys((str(folder.resolve()), str(folder))):
            text = text.replace(shown + "/", "").replace(shown, ".")
    return text
