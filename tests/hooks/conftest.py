"""Fixtures that run the real pre-commit (from PyPI) against a snapshot of this repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from precommit_repos import HookRepo, UserRepo
from repo_snapshot import pre_commit_env, snapshot


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    base = tmp_path_factory.mktemp("pre-commit")
    env = pre_commit_env(base)  # one store for the session: hooks are built once
    rev = snapshot(base / "infrar", env)
    return HookRepo(base / "infrar", rev, env)


@pytest.fixture
def user_repo(tmp_path: Path, hook_repo: HookRepo) -> UserRepo:
    """A git repository whose .pre-commit-config.yaml uses every hook of the snapshot."""
    repo = UserRepo(tmp_path / "project", dict(hook_repo.env))
    repo.path.mkdir()
    repo.git("init", "-q")
    config = {"repos": [{
        "repo": str(hook_repo.path), "rev": hook_repo.rev,
        "hooks": [{"id": "infrar-check"}, {"id": "infrar-generate"},
                  {"id": "infrar-validate-plugins"}],
    }]}
    repo.write(".pre-commit-config.yaml", yaml.safe_dump(config, sort_keys=False))
    repo.write("README.md", "a project\n")
    repo.stage(".pre-commit-config.yaml", "README.md")
    repo.git("commit", "-q", "-m", "start")
    return repo
