"""What Infrar's faces (the App and the Action) need from the forge hosting a pull request.

`Forge` is the whole surface; the results are plain dataclasses, so no caller touches the
library underneath. `GitHubClient` (app/github/client.py) is the one implementation, and
app/github/publish.py posts through any `Forge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class PullInfo:
    number: int
    state: str
    draft: bool
    merged: bool
    mergeable: bool | None
    head_sha: str
    head_ref: str
    head_repo: str | None
    base_ref: str
    html_url: str
    author: str


@dataclass(frozen=True)
class PullFile:
    filename: str
    status: str
    patch: str | None


@dataclass(frozen=True)
class Posted:
    """A review or issue comment already on the pull request."""

    id: int
    author: str
    author_type: str
    body: str
    state: str = ""
    commit_id: str | None = None
    html_url: str = ""
    node_id: str = ""


@dataclass(frozen=True)
class Annotation:
    path: str
    start_line: int
    end_line: int
    level: str  # notice | warning | failure
    message: str
    title: str = ""


@dataclass(frozen=True)
class CheckOutput:
    title: str
    summary: str
    text: str = ""
    annotations: Sequence[Annotation] = field(default_factory=tuple)


@dataclass(frozen=True)
class InlineComment:
    path: str
    line: int
    body: str
    start_line: int | None = None


@dataclass(frozen=True)
class IssueInfo:
    number: int
    state: str
    title: str
    body: str
    html_url: str


class Forge(Protocol):
    """One repository on the forge, acting as one identity (an App's bot, or a token's owner)."""

    def is_own(self, author: str, author_type: str) -> bool:
        """Posted by the identity this client acts as; never merely by some other bot."""
        ...

    def pull(self, number: int) -> PullInfo: ...

    def pull_files(self, number: int) -> list[PullFile]: ...

    def reviews(self, number: int) -> list[Posted]: ...

    def create_review(self, number: int, *, commit_sha: str, body: str,
                      comments: Sequence[InlineComment]) -> Posted: ...

    def update_review(self, number: int, review_id: int, body: str) -> None: ...

    def comments(self, number: int) -> list[Posted]: ...

    def create_comment(self, number: int, body: str) -> Posted: ...

    def update_comment(self, number: int, comment_id: int, body: str) -> None: ...

    def delete_comment(self, number: int, comment_id: int) -> None: ...

    def minimize(self, node_id: str) -> bool:
        """Hide a post as outdated; False where the forge cannot."""
        ...

    def react(self, number: int, comment_id: int, content: str) -> None: ...

    def permission(self, login: str) -> str: ...

    def team_member(self, org: str, team_slug: str, login: str) -> bool: ...

    def behind_by(self, base: str, head: str) -> int: ...

    def delete_branch(self, branch: str) -> bool: ...

    def default_branch(self) -> tuple[str, str]:
        """(name, clone URL) of the repository's default branch."""
        ...

    def branch_head(self, branch: str) -> str: ...

    def open_issues(self) -> list[IssueInfo]:
        """Open issues (not pull requests) this client's user opened."""
        ...

    def create_issue(self, *, title: str, body: str) -> IssueInfo: ...

    def update_issue(self, number: int, *, title: str, body: str) -> None: ...

    def close_issue(self, number: int, *, note: str) -> None: ...

    def find_check_run(self, head_sha: str, *, name: str, external_id: str) -> int | None: ...

    def start_check_run(self, head_sha: str, *, name: str, external_id: str,
                        title: str) -> int: ...

    def complete_check_run(self, run_id: int, *, conclusion: str, output: CheckOutput,
                           details_url: str | None = None) -> None: ...

    def update_check_run(self, run_id: int, *, output: CheckOutput) -> None: ...
