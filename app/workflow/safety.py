"""What in a checkout would make the App read outside it: configured paths that leave the
repository, and symlinks that point out of it."""

from __future__ import annotations

import os
from pathlib import Path

from infrar.engine.config import ProjectConfig


def outside_paths(root: Path, config: ProjectConfig) -> list[str]:
    real_root = root.resolve()
    found = [f".infrar.yaml: paths: {p!r} is outside the repository"
             for p in config.paths if not (root / p).resolve().is_relative_to(real_root)]
    for folder, directories, files in os.walk(root):
        directories[:] = [d for d in directories if d != ".git"]
        for name in directories + files:
            path = Path(folder, name)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                found.append(f"{path.relative_to(root).as_posix()}: symlink to outside the "
                             "repository")
    return found
