"""The repositories of the pre-commit tests: this one's snapshot, and a user's project."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from repo_snapshot import git


@dataclass(frozen=True)
class HookRepo:
    path: Path
    rev: str
    env: dict[str, str]


@dataclass
class UserRepo:
    path: Path
    env: dict[str, str]

    def write(self, relative: str, text: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def git(self, *args: str) -> str:
        return git(self.path, *args, env=self.env)

    def stage(self, *relatives: str) -> None:
        self.git("add", "--", *relatives)

    def pre_commit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", *args, "--color=never"], cwd=self.path,
            env=self.env, check=False, capture_output=True, text=True, timeout=600)
