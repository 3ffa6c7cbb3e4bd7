"""Git through GitPython, authenticated by the installation token.

The token travels only in the environment of each git process (`http.extraheader` set through
GIT_CONFIG_*), so it is never written to `.git/config`, a remote URL or a log.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from git import Repo
from git.exc import GitCommandError

BOT_NAME = "infrar[bot]"
BOT_EMAIL = "infrar[bot]@users.noreply.github.com"
TRAILER = "Infrar-Source-SHA"


class GitError(RuntimeError):
    """A git command failed; the message never contains the token."""


def auth_environment(token: str) -> dict[str, str]:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "true",
    }


@dataclass
class Checkout:
    repo: Repo
    root: Path
    head_sha: str


@contextmanager
def _authenticated(repo: Repo, token: str) -> Iterator[None]:
    try:
        with repo.git.custom_environment(**auth_environment(token)):
            yield
    except GitCommandError as exc:
        # GitPython's message holds the command line and stderr, never the environment.
        raise GitError(f"git {exc.command[1] if len(exc.command) > 1 else ''} failed: "
                       f"{(exc.stderr or '').strip()[-2000:]}") from None


def checkout(*, url: str, sha: str, dest: Path, token: str, branch: str | None = None
             ) -> Checkout:
    """A working tree of exactly `sha` (shallow: history is not needed to commit on top).
    `branch`, when given, is fetched in the same fetch (its tip only), for `file_at_branch`;
    a branch the remote does not have is left out."""
    repo = Repo.init(dest)
    repo.create_remote("origin", url)
    with _authenticated(repo, token):
        if branch is None or not _fetch(repo, sha, _branch_refspec(branch)):
            _fetch(repo, sha)
        repo.git.checkout("--detach", sha)
    head = repo.head.commit.hexsha
    if head != sha:
        raise GitError(f"fetched {head}, expected {sha}")
    return Checkout(repo, dest, head)


def _fetch(repo: Repo, *refspecs: str) -> bool:
    """Fetch the tips of `refspecs`; False when one of several is not on the remote."""
    try:
        repo.git.fetch("origin", *refspecs, depth=1, no_tags=True)
    except GitCommandError:
        if len(refspecs) == 1:
            raise
        return False
    return True


def _branch_refspec(branch: str) -> str:
    return f"+refs/heads/{branch}:{_remote_ref(branch)}"


def _remote_ref(branch: str) -> str:
    return f"refs/remotes/origin/{branch}"


def commit_all(work: Checkout, *, message: str, generated: tuple[str, ...] = ()) -> str:
    """Commit the whole tree on top of the source commit, deterministically: the same input
    gives the same commit id, so a retried job pushes nothing new. The `generated` folders are
    committed even where the repository's .gitignore leaves them out (`.infrar/` often is)."""
    source = work.repo.head.commit
    stamp = f"{source.committed_date} +0000"
    env = {"GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
           "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL,
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    with work.repo.git.custom_environment(**env):
        work.repo.git.add("--all")
        present = [path for path in generated if (work.root / path).exists()]
        if present:
            work.repo.git.add("--all", "--force", "--", *present)
        work.repo.git.commit("--allow-empty", "--no-verify", "--no-gpg-sign", "-q",
                             "-m", f"{message}\n\n{TRAILER}: {work.head_sha}\n")
    return work.repo.head.commit.hexsha


def push_branch(work: Checkout, *, branch: str, token: str) -> None:
    with _authenticated(work.repo, token):
        work.repo.git.push("--force", "origin", f"HEAD:refs/heads/{branch}")


def file_at_branch(work: Checkout, *, branch: str, path: str) -> bytes | None:
    """A file as it is on `branch` of the remote, as fetched with the checkout (`checkout`'s
    `branch`), or None when the branch or file is absent."""
    ref = _remote_ref(branch)
    if not any(r.path == ref for r in work.repo.refs):
        return None
    try:
        blob = work.repo.commit(ref).tree / path
    except KeyError:
        return None
    return bytes(blob.data_stream.read())
