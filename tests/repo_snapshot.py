"""A committed copy of this repository's working tree, for tools that install from git.

pre-commit clones hook repositories at a revision, and the Action installs from its checkout;
both must see the uncommitted files of the working tree, so they get a snapshot commit in a
throwaway repository and the real repository's git state is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".venv-*", "venv", "tests", "node_modules", "__pycache__", "*.egg-info",
    "build", "dist", ".pytest_cache", ".hypothesis", ".infrar", ".mypy_cache", ".ruff_cache",
    ".terraform", "*.pyc",
)


def git_env(home: Path) -> dict[str, str]:
    """An environment in which git needs no user configuration and reads none from the host."""
    config = home / "gitconfig"
    if not config.exists():
        home.mkdir(parents=True, exist_ok=True)
        config.write_text("[user]\n\tname = Infrar Tests\n\temail = tests@infrar.invalid\n"
                          "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "INFRAR_"))}
    env.update(GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1")
    return env


def pre_commit_env(base: Path) -> dict[str, str]:
    """Where pre-commit keeps its store for a session, and what its hook installs see."""
    env = git_env(base / "home")
    env.update(PRE_COMMIT_HOME=str(base / "cache"), PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1",
               # The snapshot has a history of its own; the hook's Infrar must be this version,
               # as generated files name the version of their generator.
               SETUPTOOLS_SCM_PRETEND_VERSION=version("infrar"))
    return env


def git(repo: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True)
    return done.stdout.strip()


def snapshot(destination: Path, env: dict[str, str]) -> str:
    """Copy the working tree to `destination`, commit it there, return the commit's SHA."""
    shutil.copytree(ROOT, destination, ignore=_IGNORED)
    git(destination, "init", "-q", env=env)
    git(destination, "add", "-A", env=env)
    git(destination, "commit", "-q", "-m", "snapshot", env=env)
    return git(destination, "rev-parse", "HEAD", env=env)
