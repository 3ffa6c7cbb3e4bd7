"""One workspace rule for every face: nothing outside the project is read, symlinks are left
out, and no two files may land on one path of the transformed tree."""

from __future__ import annotations

from pathlib import Path

from infrar.engine.config import load_config
from infrar.engine.pipeline import PipelineResult, deployment_targets, run_pipeline

SDK = "from infrar.storage import read\n\nread('photos', 'k')\n"


def _run(root: Path, roots: list[Path] | None = None) -> PipelineResult:
    config = load_config(root / ".infrar.yaml")
    paths = roots or [root / p for p in config.paths] or [root]
    return run_pipeline(paths, config=config, targets=deployment_targets(config))


def _project(tmp_path: Path, config: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / ".infrar.yaml").write_text(config)
    return root


def test_paths_leading_outside_the_project_are_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "version: 1\npaths: [../outside]\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.py").write_text(SDK)
    result = _run(root)
    assert not result.ok and not result.builds
    [problem] = result.errors
    assert (problem.path, problem.code) == (".infrar.yaml", "outside-project")
    assert "'../outside' leads outside the project folder" in problem.message


def test_a_symlinked_module_is_left_out_with_a_warning(tmp_path: Path) -> None:
    root = _project(tmp_path, "version: 1\n")
    (tmp_path / "elsewhere.py").write_text(SDK)
    (root / "app.py").write_text(SDK)
    (root / "link.py").symlink_to(tmp_path / "elsewhere.py")
    result = _run(root)
    assert result.ok
    assert [(w.path, w.code) for w in result.warnings] == [("link.py", "symlink")]
    files = result.builds["local"].files
    assert "app.py" in files and "link.py" not in files


def test_two_files_landing_on_one_path_are_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "version: 1\npaths: [api, worker]\n")
    for folder in ("api", "worker"):
        (root / folder).mkdir()
        (root / folder / "app.py").write_text(SDK)
    result = _run(root)
    assert not result.ok and not result.builds
    [problem] = result.errors
    assert (problem.path, problem.code) == ("worker/app.py", "path-collision")
    assert "as api/app.py does" in problem.message


def test_generation_reads_what_a_transform_reads(tmp_path: Path) -> None:
    from infrar.engine.config import resolve_target
    from infrar.engine.infra.generate import generate_paths

    root = _project(tmp_path, "version: 1\n")
    (tmp_path / "elsewhere.py").write_text("from infrar.storage import read\nread('secret', 'k')\n")
    (root / "app.py").write_text(SDK)
    (root / "link.py").symlink_to(tmp_path / "elsewhere.py")
    config = load_config(root / ".infrar.yaml")
    result = generate_paths([root], target=resolve_target(config))
    assert result.ok
    assert [r.key for r in result.inventory.resources] == ["photos"]
    assert [(w.path, w.code) for w in result.warnings] == [("link.py", "symlink")]
