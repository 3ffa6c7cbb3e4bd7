"""What one signed-in user may see: repositories they can push to, installations they admin.

Worked out from GitHub at sign-in and again every `access_recheck_seconds`, so a user who
loses write access (or leaves the organisation) loses the dashboard soon after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from infrar.app.dashboard.github_user import UserClient


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
