"""GitHub as the signed-in user sees it: the OAuth web flow and the user-to-server REST calls.

The web flow lives on GitHub's web host (`/login/oauth/...`), the REST calls on its API host;
a user access token of this App only ever sees this App's installations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

TIMEOUT_S = 10.0
PER_PAGE = 100
MAX_PAGES = 50


class GitHubUserError(RuntimeError):
    """GitHub refused or failed a sign-in call; `status` 401 means the token is no good."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class UserInstallation:
    id: int
    account: str
    account_type: str


@dataclass(frozen=True)
class UserRepo:
    full_name: str
    push: bool
    admin: bool


def authorize_url(web_url: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state,
                       "allow_signup": "false"})
    return f"{web_url}/login/oauth/authorize?{query}"


@dataclass(frozen=True)
class UserTokens:
    """A user access token and, where GitHub expires them (its default for Apps), the
    single-use refresh token that gets the next pair."""

    access: str
    refresh: str = ""

    def to_json(self) -> str:
        return json.dumps({"access": self.access, "refresh": self.refresh})

    @classmethod
    def from_json(cls, text: str) -> UserTokens:
        doc = json.loads(text)
        return cls(str(doc["access"]), str(doc.get("refresh") or ""))


def exchange_code(web_url: str, *, client_id: str, client_secret: str, code: str,
                  redirect_uri: str) -> UserTokens:
    """The user's tokens for an authorization code."""
    return _token_call(web_url, {"client_id": client_id, "client_secret": client_secret,
                                 "code": code, "redirect_uri": redirect_uri})


def refresh(web_url: str, *, client_id: str, client_secret: str, tokens: UserTokens
            ) -> UserTokens:
    return _token_call(web_url, {"client_id": client_id, "client_secret": client_secret,
                                 "grant_type": "refresh_token",
                                 "refresh_token": tokens.refresh})


def _token_call(web_url: str, form: dict[str, str]) -> UserTokens:
    try:
        answer = requests.post(f"{web_url}/login/oauth/access_token", data=form,
                               headers={"Accept": "application/json"}, timeout=TIMEOUT_S)
        body = answer.json() if answer.ok else {}
    except (requests.RequestException, ValueError) as exc:
        raise GitHubUserError(f"GitHub did not answer the sign-in: {type(exc).__name__}"
                              ) from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        error = body.get("error") if isinstance(body, dict) else None
        raise GitHubUserError(f"GitHub refused the sign-in ({error or answer.status_code})",
                              status=401)
    again = body.get("refresh_token")
    return UserTokens(token, again if isinstance(again, str) else "")


class UserClient:
    def __init__(self, api_url: str, token: str) -> None:
        self._api, self._token = api_url, token

    def _get(self, path: str, **params: Any) -> Any:
        try:
            answer = requests.get(
                f"{self._api}{path}", params=params, timeout=TIMEOUT_S,
                headers={"Authorization": f"Bearer {self._token}",
                         "Accept": "application/vnd.github+json",
                         "X-GitHub-Api-Version": "2022-11-28"})
        except requests.RequestException as exc:
            raise GitHubUserError(f"GitHub unreachable: {type(exc).__name__}") from None
        if answer.status_code == 404:
            return None
        if not answer.ok:
            raise GitHubUserError(f"GET {path}: HTTP {answer.status_code}",
                                  status=answer.status_code)
        return answer.json()

    def _pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        seen = 0
        for page in range(1, MAX_PAGES + 1):
            body = self._get(path, per_page=PER_PAGE, page=page) or {}
            items = body.get(key) or []
            yield from items
            seen += len(items)
            if not items or seen >= int(body.get("total_count") or 0):
                return

    def login(self) -> tuple[str, int]:
        body = self._get("/user")
        if not body:
            raise GitHubUserError("GET /user: no user", status=401)
        return str(body["login"]), int(body["id"])

    def installations(self) -> list[UserInstallation]:
        return [UserInstallation(int(i["id"]), str(i["account"]["login"]),
                                 str(i.get("target_type") or i["account"].get("type", "")))
                for i in self._pages("/user/installations", "installations")]

    def repositories(self, installation_id: int) -> list[UserRepo]:
        found = []
        for repo in self._pages(f"/user/installations/{installation_id}/repositories",
                                "repositories"):
            permissions = repo.get("permissions") or {}
            found.append(UserRepo(str(repo["full_name"]),
                                  push=bool(permissions.get("push")
                                            or permissions.get("maintain")
                                            or permissions.get("admin")),
                                  admin=bool(permissions.get("admin"))))
        return found

    def is_org_admin(self, org: str) -> bool:
        """Without the App's "Members: read" organization permission GitHub answers 403:
        then nobody counts as the organization's admin here."""
        try:
            body = self._get(f"/user/memberships/orgs/{org}")
        except GitHubUserError as exc:
            if exc.status == 403:
                return False
            raise
        return bool(body) and body.get("state") == "active" and body.get("role") == "admin"
