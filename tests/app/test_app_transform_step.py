"""The App's transform of a checkout: every environment, files known by their repository path."""

from __future__ import annotations

from pathlib import Path

from infrar.app.workflow.transform_step import transform_tree
from infrar.engine.config import load_config, resolve_target

READS = 'from infrar.storage import read\n\n\ndef f():\n    return read("a", "k")\n'
WRITES = 'from infrar.storage import write\n\n\ndef g():\n    write("b", "k", b"")\n'


def checkout(root: Path, config: str, files: dict[str, str]) -> Path:
    for name, text in {".infrar.yaml": config, **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_changed_files_are_keyed_by_repository_path(tmp_path: Path) -> None:
    root = checkout(tmp_path, "version: 1\nproject: p\npaths: [src]\nprovider: local\n",
                    {"src/pkg/reader.py": READS})
    config = load_config(root / ".infrar.yaml")
    tree = transform_tree(root, config=config, targets={"default": resolve_target(config)})
    assert tree.ok and list(tree.changed) == ["src/pkg/reader.py"]
    assert "pkg/reader.py" in tree.builds["local"].files  # where it lands in the build


def test_same_named_files_of_two_configured_paths_are_not_lost(tmp_path: Path) -> None:
    root = checkout(tmp_path, "version: 1\nproject: p\npaths: [api, worker]\nprovider: local\n",
                    {"api/app.py": READS, "worker/app.py": WRITES})
    config = load_config(root / ".infrar.yaml")
    tree = transform_tree(root, config=config, targets={"default": resolve_target(config)})
    # Either both reach the build, or the collision is refused with a diagnostic.
    assert not tree.ok or set(tree.changed) == {"api/app.py", "worker/app.py"}
