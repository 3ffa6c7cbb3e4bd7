"""Generation's diagnostics reach the App as data (file, line, code), relative to the project,
so a check run marks each on its line in the repository, once however many environments
found it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrar.app.workflow import engine_generator
from infrar.app.workflow.plan_run import ProjectRun, _generation_annotations
from infrar.engine.config import load_config, resolve_target
from infrar.engine.projects import discover

CONFIG = """\
version: 1
project: photo-app
provider: local
naming: "{project}-{environment}-{name}"
environments:
  dev: {}
  production: {}
"""
APP = f'from infrar.storage import write\n\nwrite("{"n" * 60}", "k", "v")\n'


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "services" / "photos" / "src").mkdir(parents=True)
    (root / "services" / "photos" / ".infrar.yaml").write_text(CONFIG)
    (root / "services" / "photos" / "src" / "app.py").write_text(APP)
    monkeypatch.chdir(tmp_path)  # the App's working folder is not the checkout
    return root


def test_generation_diagnostics_are_data_on_their_project_lines(repository: Path,
                                                                  tmp_path: Path) -> None:
    folder = repository / "services" / "photos"
    config = load_config(folder / ".infrar.yaml")
    generated = {}
    for name in ("dev", "production"):
        generated[name] = engine_generator.generate(
            source_root=folder, target=resolve_target(config, environment=name),
            out_dir=folder / ".infrar" / "terraform" / name, cache_root=tmp_path / "cache")
    dev = generated["dev"]
    [error] = [d for d in dev.diagnostics if d.severity == "error"]
    assert (error.path, error.line) == ("src/app.py", 3)
    assert "the limit is 63" in error.message
    assert dev.errors == (str(error),)

    [project] = discover(repository)
    run = ProjectRun(project, folder, single=False, generated=generated)
    annotations = _generation_annotations(run)
    assert [(a.path, a.start_line, a.level) for a in annotations] == [
        ("services/photos/src/app.py", 3, "failure"),
        ("services/photos/src/app.py", 3, "failure")]
    assert all(f"[{error.code}]" in a.message for a in annotations)
    assert "photo-app-dev-" in annotations[0].message + annotations[1].message
    twice = ProjectRun(project, folder, single=False, generated={"a": dev, "b": dev})
    assert len(_generation_annotations(twice)) == 1
