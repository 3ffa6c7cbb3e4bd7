"""The App's checkout: the head commit and the base branch's tip in one fetch, so the base
branch's configuration is read without another round trip; a base branch the remote does not
have leaves the checkout as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

from infrar.app.workflow import gitops


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def _remote(tmp_path: Path) -> tuple[Path, str]:
    """A bare repository whose main branch holds `.infrar.yaml` and whose feature branch
    changes it; the feature's head commit id."""
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    _git(work, "config", "user.email", "dev@example.org")
    _git(work, "config", "user.name", "dev")
    (work / ".infrar.yaml").write_text("on main\n")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "main")
    _git(work, "checkout", "-q", "-b", "feature")
    (work / ".infrar.yaml").write_text("on the feature\n")
    _git(work, "commit", "-q", "-am", "feature")
    bare = tmp_path / "remote.git"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    _git(bare, "config", "uploadpack.allowAnySHA1InWant", "true")
    return bare, _git(work, "rev-parse", "HEAD")


def test_the_base_branch_comes_with_the_checkout(tmp_path: Path) -> None:
    remote, head = _remote(tmp_path)
    work = gitops.checkout(url=remote.as_uri(), sha=head, dest=tmp_path / "src", token="t",
                           branch="main")
    assert work.head_sha == head
    assert (work.root / ".infrar.yaml").read_text() == "on the feature\n"
    assert gitops.file_at_branch(work, branch="main", path=".infrar.yaml") == b"on main\n"
    assert gitops.file_at_branch(work, branch="main", path="missing.yaml") is None
    assert gitops.file_at_branch(work, branch="other", path=".infrar.yaml") is None


def test_a_base_branch_the_remote_lacks_leaves_the_checkout_whole(tmp_path: Path) -> None:
    remote, head = _remote(tmp_path)
    work = gitops.checkout(url=remote.as_uri(), sha=head, dest=tmp_path / "src", token="t",
                           branch="gone")
    assert work.head_sha == head
    assert (work.root / ".infrar.yaml").read_text() == "on the feature\n"
    assert gitops.file_at_branch(work, branch="gone", path=".infrar.yaml") is None
