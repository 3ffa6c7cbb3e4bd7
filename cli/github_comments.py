"""The few GitHub REST calls the Action makes, over the standard library (the Action's virtual
environment holds Infrar's own dependencies only): find, create and update one PR comment."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 30
PER_PAGE = 100
MAX_PAGES = 30
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"GitHub answered {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class GitHub:
    api_url: str
    token: str
    repository: str  # owner/name

    def call(self, method: str, path: str, body: dict[str, Any] | None = None
             ) -> tuple[Any, str | None]:
        """The decoded answer and the URL of its next page, if any."""
        url = path if path.startswith(("http://", "https://")) else self.api_url.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"token {self.token}",
            "User-Agent": "infrar-action",
            "X-GitHub-Api-Version": "2022-11-28",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                text = response.read().decode()
                link = response.headers.get("Link") or ""
        except urllib.error.HTTPError as exc:
            raise GitHubError(exc.code, _message(exc)) from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise GitHubError(0, f"cannot reach {self.api_url}: {exc}") from None
        found = _NEXT.search(link)
        return (json.loads(text) if text else None), (found.group(1) if found else None)

    def pull(self, number: int) -> dict[str, Any]:
        answer, _ = self.call("GET", f"/repos/{self.repository}/pulls/{number}")
        return dict(answer)

    def comments(self, number: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page: str | None = f"/repos/{self.repository}/issues/{number}/comments?per_page={PER_PAGE}"
        for _ in range(MAX_PAGES):
            if page is None:
                break
            answer, page = self.call("GET", page)
            found += answer or []
        return found

    def upsert_comment(self, number: int, marker: str, body: str) -> tuple[str, dict[str, Any]]:
        """Update the comment that starts with `marker`, else create one: ("updated"|"created")."""
        for comment in self.comments(number):
            if str(comment.get("body") or "").startswith(marker):
                try:
                    answer, _ = self.call(
                        "PATCH", f"/repos/{self.repository}/issues/comments/{comment['id']}",
                        {"body": body})
                    return "updated", dict(answer)
                except GitHubError as exc:
                    # Someone else's comment carrying our marker: leave it, write our own.
                    if exc.status not in (403, 404):
                        raise
                    break
        answer, _ = self.call("POST", f"/repos/{self.repository}/issues/{number}/comments",
                              {"body": body})
        return "created", dict(answer)


def _message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read().decode()).get("message") or error.reason)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)
