"""The forge (app/github/forge.py) over PyGithub, for the App and the Action alike.

Results are plain dataclasses so no face touches PyGithub objects, and every REST route
Infrar uses is listed in this one module. Retries are PyGithub's (urllib3's, on 5xx answers and
rate limits); writes are paced by app/github/pacing.py. Two calls are GraphQL (POST /graphql):
hiding a post, which REST cannot do, and asking who a token acts as, which `GET /user` refuses
to installation tokens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, UnknownObjectException
from github.GithubObject import NotSet
from github.Issue import Issue
from github.PaginatedList import PaginatedList
from github.PullRequest import PullRequest, ReviewComment
from github.Repository import Repository

from infrar.app.github.forge import (
    Annotation,
    CheckOutput,
    InlineComment,
    IssueInfo,
    Posted,
    PullFile,
    PullInfo,
)
from infrar.app.github.pacing import pacer_for

__all__ = ["ERRORS", "Annotation", "CheckOutput", "GitHubClient", "InlineComment", "IssueInfo",
           "Posted", "PullFile", "PullInfo", "status_of"]

ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per create/update of a check run
ERRORS: tuple[type[Exception], ...] = (GithubException, requests.RequestException)
"""What a call may raise once PyGithub's retries are spent: GitHub's answer, or no answer."""

log = logging.getLogger(__name__)


class GitHubClient:
    def __init__(self, *, repo: str, token: Callable[[], str], api_url: str,
                 app_login: Callable[[], str] | None = None,
                 write_interval: float = 1.0) -> None:
        """`app_login` gives the login an App posts as (`InstallationTokens.bot_login`); without
        it, the identity is whoever the token belongs to, asked of GitHub once."""
        self.repo_name = repo
        self._app_login = app_login
        self._viewer: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._gh = Github(auth=_TokenAuth(token), base_url=api_url, lazy=True,
                          seconds_between_requests=None, seconds_between_writes=None)
        self._pacer = pacer_for(api_url, repo.split("/", 1)[0], write_interval)

    @property
    def _repo(self) -> Repository:
        return self._gh.get_repo(self.repo_name)

    def _pull(self, number: int) -> PullRequest:
        return self._repo.get_pull(number)

    def _issue(self, number: int) -> Issue:
        # Conversation comments of a pull request live on its issue.
        return self._repo.get_issue(number)

    # -- who we are ---------------------------------------------------------------------------

    def identity(self) -> tuple[str, str]:
        """(login, type) of the user this client posts as: type "Bot" for an App."""
        if self._app_login is not None:
            return self._app_login(), "Bot"
        with self._lock:
            if self._viewer is None:
                _, data = self._gh.requester.graphql_query(
                    "query { viewer { login __typename } }", {})
                viewer = (data.get("data") or {}).get("viewer") or {}
                self._viewer = (str(viewer.get("login") or ""), str(viewer.get("__typename")))
            return self._viewer

    def app_login(self) -> str:
        return self.identity()[0]

    def is_own(self, author: str, author_type: str) -> bool:
        """Posted by this client's own user, not merely some bot (or user) of that name."""
        login, kind = self.identity()
        return bool(login) and author_type == kind and author.casefold() == login.casefold()

    # -- pull requests ------------------------------------------------------------------------

    def pull(self, number: int) -> PullInfo:
        p = self._pull(number)
        head_repo = p.head.repo.full_name if p.head.repo is not None else None
        return PullInfo(number=p.number, state=p.state, draft=bool(p.draft), merged=bool(p.merged),
                        mergeable=p.mergeable, head_sha=p.head.sha, head_ref=p.head.ref,
                        head_repo=head_repo, base_ref=p.base.ref, html_url=p.html_url,
                        author=p.user.login)

    def pull_files(self, number: int) -> list[PullFile]:
        return [PullFile(f.filename, f.status, f.patch) for f in self._pull(number).get_files()]

    def reviews(self, number: int) -> list[Posted]:
        return [Posted(r.id, r.user.login if r.user else "", r.user.type if r.user else "",
                       r.body or "", r.state, r.commit_id, r.html_url, r.node_id or "")
                for r in self._pull(number).get_reviews()]

    def create_review(self, number: int, *, commit_sha: str, body: str,
                      comments: Sequence[InlineComment]) -> Posted:
        self._pacer.wait()
        review = self._pull(number).create_review(
            commit=self._repo.get_commit(commit_sha), body=body, event="COMMENT",
            comments=[cast(ReviewComment, _inline(c)) for c in comments])
        return Posted(review.id, review.user.login if review.user else "", "Bot", body,
                      review.state, commit_sha, review.html_url)

    def update_review(self, number: int, review_id: int, body: str) -> None:
        self._pacer.wait()
        self._pull(number).get_review(review_id).edit(body)

    def comments(self, number: int) -> list[Posted]:
        return [Posted(c.id, c.user.login, c.user.type, c.body or "", html_url=c.html_url,
                       node_id=c.node_id or "")
                for c in self._issue(number).get_comments()]

    def create_comment(self, number: int, body: str) -> Posted:
        self._pacer.wait()
        c = self._issue(number).create_comment(body)
        return Posted(c.id, c.user.login, c.user.type, body, html_url=c.html_url)

    def update_comment(self, number: int, comment_id: int, body: str) -> None:
        self._pacer.wait()
        self._issue(number).get_comment(comment_id).edit(body)

    def delete_comment(self, number: int, comment_id: int) -> None:
        self._pacer.wait()
        try:
            self._issue(number).get_comment(comment_id).delete()
        except UnknownObjectException:
            pass

    def minimize(self, node_id: str) -> bool:
        """Hide a review or comment as outdated (GraphQL `minimizeComment`); False when GitHub
        refuses, e.g. a GitHub Enterprise Server on which reviews cannot be hidden yet."""
        if not node_id:
            return False
        self._pacer.wait()
        try:
            _, data = self._gh.requester.graphql_named_mutation(
                "minimizeComment", {"subjectId": node_id, "classifier": "OUTDATED"},
                "minimizedComment { isMinimized }")
        except GithubException as exc:
            log.info("GitHub did not hide %s (%s)", node_id, exc.status)
            return False
        return bool((data.get("minimizedComment") or {}).get("isMinimized"))

    def react(self, number: int, comment_id: int, content: str) -> None:
        self._pacer.wait()
        self._issue(number).get_comment(comment_id).create_reaction(content)

    # -- repository ---------------------------------------------------------------------------

    def permission(self, login: str) -> str:
        try:
            return self._repo.get_collaborator_permission(login)
        except UnknownObjectException:
            return "none"

    def team_member(self, org: str, team_slug: str, login: str) -> bool:
        """`login` is an active member of the organisation's team (GitHub answers 404 for
        anyone else, and for a team the App cannot see)."""
        org_part, team_part, login_part = (quote(p, safe="") for p in (org, team_slug, login))
        try:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", f"/orgs/{org_part}/teams/{team_part}/memberships/{login_part}")
        except UnknownObjectException:
            return False
        return isinstance(data, dict) and data.get("state") == "active"

    def behind_by(self, base: str, head: str) -> int:
        return int(self._repo.compare(base, head).behind_by)

    def delete_branch(self, branch: str) -> bool:
        # Not GitRef.delete(): on a lazy GitRef it sends DELETE to .../git/ref/... (singular),
        # a route GitHub does not have; the REST description names .../git/refs/{ref}.
        self._pacer.wait()
        try:
            self._gh.requester.requestJsonAndCheck(
                "DELETE", f"{self._repo.url}/git/refs/heads/{quote(branch, safe='/')}")
        except UnknownObjectException:
            return False
        except GithubException as exc:
            if exc.status == 422:  # already gone
                return False
            raise
        return True

    # -- check runs ---------------------------------------------------------------------------

    def find_check_run(self, head_sha: str, *, name: str, external_id: str) -> int | None:
        for run in self._repo.get_commit(head_sha).get_check_runs(check_name=name):
            if run.external_id == external_id:
                return int(run.id)
        return None

    def start_check_run(self, head_sha: str, *, name: str, external_id: str,
                        title: str) -> int:
        self._pacer.wait()
        run = self._repo.create_check_run(
            name=name, head_sha=head_sha, status="in_progress", external_id=external_id,
            output={"title": title, "summary": title})
        return int(run.id)

    def update_check_run(self, run_id: int, *, output: CheckOutput) -> None:
        """A running check's output, replaced (its annotations are not sent)."""
        body: dict[str, Any] = {"title": output.title, "summary": output.summary}
        if output.text:
            body["text"] = output.text
        self._pacer.wait()
        self._repo.get_check_run(run_id).edit(output=body)

    def complete_check_run(self, run_id: int, *, conclusion: str, output: CheckOutput,
                           details_url: str | None = None) -> None:
        run = self._repo.get_check_run(run_id)
        batches = [list(output.annotations[i:i + ANNOTATIONS_PER_REQUEST])
                   for i in range(0, len(output.annotations), ANNOTATIONS_PER_REQUEST)] or [[]]
        for index, batch in enumerate(batches):
            body: dict[str, Any] = {"title": output.title, "summary": output.summary,
                                    "annotations": [_annotation(a) for a in batch]}
            if output.text:
                body["text"] = output.text
            self._pacer.wait()
            if index < len(batches) - 1:
                run.edit(output=body)  # GitHub appends annotations across updates
            else:
                run.edit(status="completed", conclusion=conclusion, output=body,
                         details_url=details_url or NotSet)


    # -- issues (drift, failed applies) and the default branch --------------------------------

    def default_branch(self) -> tuple[str, str]:
        """(name, clone URL) of the repository's default branch."""
        repo = self._repo  # lazy: reading an attribute fetches it
        return repo.default_branch, repo.clone_url

    def branch_head(self, branch: str) -> str:
        _, data = self._gh.requester.requestJsonAndCheck(
            "GET", f"{self._repo.url}/commits/{quote(branch, safe='')}")
        return str(data["sha"])

    def open_issues(self) -> list[IssueInfo]:
        """Open issues (not pull requests) the App's user opened."""
        found = []
        listed = PaginatedList(Issue, self._gh.requester, f"{self._repo.url}/issues",
                               {"state": "open", "creator": self.app_login()})
        for issue in listed:
            if issue.pull_request is None:
                found.append(IssueInfo(issue.number, issue.state, issue.title,
                                       issue.body or "", issue.html_url))
        return found

    def create_issue(self, *, title: str, body: str) -> IssueInfo:
        self._pacer.wait()
        issue = self._repo.create_issue(title=title, body=body)
        return IssueInfo(issue.number, issue.state, title, body, issue.html_url)

    def update_issue(self, number: int, *, title: str, body: str) -> None:
        self._pacer.wait()
        self._issue(number).edit(title=title, body=body, state="open")

    def close_issue(self, number: int, *, note: str) -> None:
        """Close with a comment that says why."""
        issue = self._issue(number)
        self._pacer.wait()
        issue.create_comment(note)
        self._pacer.wait()
        issue.edit(state="closed", state_reason="completed")


class _TokenAuth(Auth.Auth):
    """An installation token fetched on every request, so the cache decides when to renew."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._token()


def status_of(error: Exception) -> int:
    """GitHub's HTTP status for one of `ERRORS`; 0 when GitHub never answered."""
    return int(error.status) if isinstance(error, GithubException) else 0


def _inline(comment: InlineComment) -> dict[str, Any]:
    out: dict[str, Any] = {"path": comment.path, "line": comment.line, "side": "RIGHT",
                           "body": comment.body}
    if comment.start_line is not None and comment.start_line < comment.line:
        out |= {"start_line": comment.start_line, "start_side": "RIGHT"}
    return out


def _annotation(a: Annotation) -> dict[str, Any]:
    out: dict[str, Any] = {"path": a.path, "start_line": a.start_line, "end_line": a.end_line,
                           "annotation_level": a.level, "message": a.message}
    if a.title:
        out["title"] = a.title
    return out
