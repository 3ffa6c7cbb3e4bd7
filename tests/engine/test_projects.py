"""Projects of a repository (monorepos): discovery, names, nesting, and which projects a change
touches, on real git repositories with the change taken from `git diff base...head`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infrar.engine.config import ConfigError
from infrar.engine.projects import by_name, discover, owner, touched


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def config(name: str | None, paths: str = "[src]") -> str:
    return (f"version: 1\n{f'project: {name}' if name else ''}\nprovider: local\n"
            f"paths: {paths}\n")


MONOREPO = {
    "services/api/.infrar.yaml": config("api"),
    "services/api/src/app.py": "from shared.util import helper\n\n\ndef run():\n    helper()\n",
    "services/api/README.md": "api\n",
    "services/worker/.infrar.yaml": config("worker"),
    "services/worker/src/job.py": "import tasks\n",
    "services/worker/src/tasks.py": "X = 1\n",
    "shared/__init__.py": "",
    "shared/util.py": "from shared.base import Base\n\n\ndef helper():\n    return Base\n",
    "shared/base.py": "class Base:\n    pass\n",
    "docs/index.md": "docs\n",
}


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, MONOREPO)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def change(repo: Path, files: dict[str, str]) -> list[str]:
    """Commit `files` on a branch; the files `git diff main...branch` names."""
    git(repo, "checkout", "-q", "-B", "feature", "main")
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    return git(repo, "diff", "--name-only", "main...feature").split()


def touched_names(repo: Path, files: dict[str, str]) -> list[str]:
    projects = discover(repo)
    return [p.name for p in touched(projects, change(repo, files), repo)]


def test_every_folder_with_a_configuration_is_a_project(monorepo: Path) -> None:
    projects = discover(monorepo)
    assert [(p.name, p.folder.as_posix()) for p in projects] == [
        ("api", "services/api"), ("worker", "services/worker")]
    api = by_name(projects, "api")
    assert api is not None and api.path_roots(monorepo) == [monorepo / "services/api/src"]
    assert api.key == "api" and api.config_file.as_posix() == "services/api/.infrar.yaml"


def test_a_change_under_one_project_touches_only_it(monorepo: Path) -> None:
    assert touched_names(monorepo, {"services/worker/src/tasks.py": "X = 2\n"}) == ["worker"]


def test_a_change_outside_every_project_touches_none(monorepo: Path) -> None:
    assert touched_names(monorepo, {"docs/index.md": "more docs\n"}) == []
    # In the project's folder but not under its paths.
    assert touched_names(monorepo, {"services/api/README.md": "api!\n"}) == []


def test_a_change_to_its_configuration_touches_a_project(monorepo: Path) -> None:
    assert touched_names(monorepo, {"services/api/.infrar.yaml": config("api") + "\n"}) == [
        "api"]


def test_an_imported_module_touches_its_importers_also_through_other_modules(
        monorepo: Path) -> None:
    # shared/base.py <- shared/util.py <- services/api/src/app.py
    assert touched_names(monorepo, {"shared/base.py": "class Base:\n    x = 1\n"}) == ["api"]


def test_a_neighbour_module_imported_by_its_bare_name(monorepo: Path) -> None:
    projects = discover(monorepo)
    assert [p.name for p in touched(projects, ["services/worker/src/tasks.py"], monorepo)] == [
        "worker"]


def test_both_projects_touched(monorepo: Path) -> None:
    assert touched_names(monorepo, {"shared/util.py": "def helper():\n    return 2\n",
                                    "services/worker/src/job.py": "import tasks  # x\n"}) == [
        "api", "worker"]


def test_a_file_belongs_to_the_innermost_project(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, {".infrar.yaml": config("platform", "[]"), "main.py": "x = 1\n",
                 "tools/.infrar.yaml": config(None, "[]"), "tools/cli.py": "y = 1\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    projects = discover(repo)
    assert [p.name for p in projects] == ["platform", "tools"]
    assert [p.key for p in projects] == ["", "tools"]
    assert owner(projects, "tools/cli.py") is projects[1]
    assert owner(projects, "main.py") is projects[0]
    assert touched_names(repo, {"tools/cli.py": "y = 2\n"}) == ["tools"]
    assert touched_names(repo, {"main.py": "x = 2\n"}) == ["platform"]


def test_two_projects_with_one_name_are_refused_naming_both(monorepo: Path) -> None:
    write(monorepo, {"services/worker/.infrar.yaml": config("api")})
    with pytest.raises(ConfigError) as raised:
        discover(monorepo)
    message = str(raised.value)
    assert "services/worker/.infrar.yaml" in message and "services/api/.infrar.yaml" in message


def test_invalid_configurations_are_all_reported(monorepo: Path) -> None:
    write(monorepo, {"services/api/.infrar.yaml": "version: 1\nprovider: [\n",
                     "services/worker/.infrar.yaml": "version: 1\nbogus: 1\n"})
    with pytest.raises(ConfigError) as raised:
        discover(monorepo)
    text = str(raised.value)
    assert "services/api/.infrar.yaml" in text and "services/worker/.infrar.yaml" in text


def test_hidden_folders_virtualenvs_and_symlinks_are_not_searched(monorepo: Path) -> None:
    write(monorepo, {".github/.infrar.yaml": config("hidden"),
                     "node_modules/x/.infrar.yaml": config("npm"),
                     "env/pyvenv.cfg": "home = /usr\n", "env/.infrar.yaml": config("venv"),
                     ".infrar/build/local/.infrar.yaml": config("built")})
    (monorepo / "linked").symlink_to(monorepo / "services/api", target_is_directory=True)
    assert [p.name for p in discover(monorepo)] == ["api", "worker"]


def test_a_root_configuration_is_the_single_project(tmp_path: Path) -> None:
    write(tmp_path, {".infrar.yaml": config("photos"), "src/app.py": "x = 1\n"})
    projects = discover(tmp_path)
    assert [(p.name, p.folder.as_posix(), p.key) for p in projects] == [("photos", ".", "")]
    assert discover(tmp_path / "src") == []
