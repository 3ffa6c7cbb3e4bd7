"""Keep exactly one GitHub issue per repository, project, environment and topic (drift, a
failed apply): opened when the trouble appears, edited while it lasts (only when what it says
changed), closed with a note when it is gone.

The database remembers the issue's number; a hidden marker in its body finds it again when the
database does not (a round that opened the issue and stopped before recording it), so a retry
never opens a second one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from infrar.app.github.client import GitHubClient
from infrar.app.state import drift as state
from infrar.app.state.db import Database

TITLE_LIMIT = 250
BODY_LIMIT = 60000  # GitHub refuses issue bodies past 65536 characters


@dataclass(frozen=True)
class IssueKey:
    repo: str
    project: str
    """The project's key: empty for a repository's root `.infrar.yaml`."""
    environment: str
    topic: str

    @property
    def marker(self) -> str:
        # A value inside an HTML comment: no `--` may appear in it.
        parts = (self.topic, self.project or ".", self.environment)
        return "<!-- infrar-issue: " + " ".join(p.replace("--", "-") for p in parts) + " -->"


def keep_open(db: Database, gh: GitHubClient, key: IssueKey, *, title: str, body: str) -> int:
    """The issue's number: opened now, or the one already open, edited if `title` or `body`
    changed since it was last posted."""
    full = _body(key, body)
    title = title[:TITLE_LIMIT]
    fingerprint = hashlib.sha256(f"{title}\n{full}".encode()).hexdigest()
    kept = _kept(db, key)
    number = kept.number if kept.number is not None else _find_open(gh, key)
    if number is None:
        number = gh.create_issue(title=title, body=full).number
    elif fingerprint != kept.fingerprint:
        gh.update_issue(number, title=title, body=full)
    state.keep_issue(db, repo=key.repo, project=key.project, environment=key.environment,
                     topic=key.topic, number=number, fingerprint=fingerprint)
    return number


def keep_closed(db: Database, gh: GitHubClient, key: IssueKey, *, note: str) -> int | None:
    """Close the open issue, if any, with `note`; the number closed, or None."""
    kept = _kept(db, key)
    number = kept.number if kept.number is not None else _find_open(gh, key)
    if number is None:
        return None
    gh.close_issue(number, note=note[:BODY_LIMIT])
    state.keep_issue(db, repo=key.repo, project=key.project, environment=key.environment,
                     topic=key.topic, number=None)
    return number


def open_number(db: Database, key: IssueKey) -> int | None:
    return _kept(db, key).number


def _kept(db: Database, key: IssueKey) -> state.Kept:
    return state.kept_issue(db, repo=key.repo, project=key.project,
                            environment=key.environment, topic=key.topic)


def _find_open(gh: GitHubClient, key: IssueKey) -> int | None:
    marker = key.marker
    return next((i.number for i in gh.open_issues() if marker in i.body), None)


def _body(key: IssueKey, body: str) -> str:
    return body[:BODY_LIMIT] + "\n\n" + key.marker + "\n"
