"""A repository cannot make the App read outside its checkout."""

from __future__ import annotations

from pathlib import Path

from infrar.app.workflow.safety import outside_paths
from infrar.engine.config import ProjectConfig


def test_paths_and_symlinks_leading_outside_are_named(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "inside.py").symlink_to(root / "src" / "x.py")
    (root / "src" / "secret").symlink_to("/etc")
    (root / "key.py").symlink_to(tmp_path / "server-key.py")
    found = outside_paths(root, ProjectConfig(paths=("src", "../elsewhere", "/etc")))
    assert sorted(found) == [
        ".infrar.yaml: paths: '../elsewhere' is outside the repository",
        ".infrar.yaml: paths: '/etc' is outside the repository",
        "key.py: symlink to outside the repository",
        "src/secret: symlink to outside the repository",
    ]
    assert outside_paths(root / "src", ProjectConfig(paths=("inside.py",))) == [
        "secret: symlink to outside the repository"]
