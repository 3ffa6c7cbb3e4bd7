"""Work grows with the change: unchanged files come from the cache, keyed by content, provider,
naming and rules version."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario import APP_PY

from infrar.app.workflow import transform_step
from infrar.app.workflow.transform_cache import TransformCache
from infrar.app.workflow.transform_step import transform_tree
from infrar.engine.config import ProjectConfig, resolve_target


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = transform_step.transform_source

    def spy(data: bytes, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["path"])
        return real(data, **kwargs)

    monkeypatch.setattr(transform_step, "transform_source", spy)
    return calls


def test_only_changed_files_are_transformed_again(tmp_path: Path, counted: list[str]) -> None:
    root = tmp_path / "repo"
    for i in range(20):
        (root / "src").mkdir(parents=True, exist_ok=True)
        (root / "src" / f"m{i}.py").write_text(APP_PY.replace("uploads", f"bucket-{i}"))
    (root / "src" / "plain.py").write_text("print('no sdk here')\n")
    target = resolve_target(ProjectConfig(project="p", provider="local"))
    cache = TransformCache(tmp_path / "cache")

    first = transform_tree(root, target=target, cache=cache)
    assert first.ok and len(first.changed) == 20 and len(counted) == 20
    (root / "src" / "m3.py").write_text(APP_PY.replace("uploads", "renamed"))
    second = transform_tree(root, target=target, cache=cache)
    assert counted[20:] == ["src/m3.py"]
    assert second.changed["src/m7.py"].output == first.changed["src/m7.py"].output
    assert b"renamed" in (second.changed["src/m3.py"].output or b"")

    other = resolve_target(ProjectConfig(project="q", provider="local"))
    transform_tree(root, target=other, cache=cache)
    assert len(counted) == 41  # another naming is another key


def test_symlinks_never_pull_in_files_from_outside(tmp_path: Path, counted: list[str]) -> None:
    outside = tmp_path / "secret.py"
    outside.write_text("# infrar token=hunter2\nimport infrar.storage\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "link.py").symlink_to(outside)
    tree = transform_tree(root, target=resolve_target(ProjectConfig(provider="local")),
                          cache=TransformCache(tmp_path / "cache"))
    assert tree.files == {} and counted == []
