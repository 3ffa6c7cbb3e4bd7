"""What one signed-in user may see: repositories they can push to, installations they admin.

Worked out from GitHub at sign-in and again every `access_recheck_seconds`, so a user who
loses write access (or leaves the organisation) loses the dashboard soon after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from infrar.app.dashboard.github_user import GitHubUserError, UserClient

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime


@dataclass(frozen=True)
class Installation:
    id: int
    account: str
    account_type: str
    admin: bool


@dataclass(frozen=True)
class Access:
    login: str
    github_id: int
    repos: dict[str, int] = field(default_factory=dict)
    """Repositories with at least write access -> their installation id."""
    installations: dict[int, Installation] = field(default_factory=dict)

    def can_see(self, repo: str) -> bool:
        return repo in self.repos

    def admin_of(self, installation_id: int) -> bool:
        found = self.installations.get(installation_id)
        return found is not None and found.admin

    def to_json(self) -> str:
        return json.dumps({
            "login": self.login, "github_id": self.github_id, "repos": self.repos,
            "installations": [vars(i) for i in self.installations.values()]})

    @classmethod
    def from_json(cls, text: str) -> Access:
        doc = json.loads(text)
        installations = {int(i["id"]): Installation(**i) for i in doc["installations"]}
        return cls(doc["login"], int(doc["github_id"]),
                   {str(k): int(v) for k, v in doc["repos"].items()}, installations)


def check(client: UserClient) -> Access:
    """Ask GitHub (a user token of this App sees only this App's installations)."""
    login, github_id = client.login()
    repos: dict[str, int] = {}
    installations: dict[int, Installation] = {}
    for inst in client.installations():
        writable = [r.full_name for r in client.repositories(inst.id) if r.push]
        if inst.account_type == "Organization":
            admin = client.is_org_admin(inst.account)
        else:
            admin = inst.account.casefold() == login.casefold()
        if writable or admin:
            installations[inst.id] = Installation(inst.id, inst.account, inst.account_type,
                                                  admin)
        repos.update({name: inst.id for name in writable})
    return Access(login, github_id, repos, installations)


def for_token(known: Access) -> Access:
    """What an API token speaks for: the repositories, never an installation's settings."""
    installations = {i: replace(inst, admin=False) for i, inst in known.installations.items()}
    return Access(known.login, known.github_id, dict(known.repos), installations)


def recheck_with_app(runtime: Runtime, known: Access) -> Access:
    """An API token holds no grant of the user's: its repositories are checked again with the
    App's own token, by the rule of the `/infrar` commands (write access), and those no
    longer writable (or no longer the App's) are dropped."""
    from infrar.app.github.client import status_of
    from infrar.app.workflow.requirements import can_write

    kept: dict[str, int] = {}
    for repo, installation_id in known.repos.items():
        try:
            if can_write(runtime.github(repo=repo, installation_id=installation_id),
                         known.login):
                kept[repo] = installation_id
        except Exception as exc:  # noqa: BLE001 - GitHub's refusals drop the repository
            if status_of(exc) not in (401, 403, 404):
                raise GitHubUserError(f"GitHub could not be asked about {repo}") from None
    installations = {i: inst for i, inst in known.installations.items()
                     if i in kept.values()}
    return Access(known.login, known.github_id, kept, installations)
