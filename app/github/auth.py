"""GitHub App authentication: a JWT for the App, installation tokens cached until near expiry."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from github import Auth, GithubIntegration

REFRESH_MARGIN_S = 300.0


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: float


class InstallationTokens:
    """Installation access tokens by installation id; never logged, never written to disk."""

    def __init__(self, *, app_id: str, private_key: str, api_url: str,
                 margin: float = REFRESH_MARGIN_S) -> None:
        self._integration = GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key), base_url=api_url)
        self._margin = margin
        self._cache: dict[int, _Cached] = {}
        self._lock = threading.Lock()
        self._login: str | None = None

    def token(self, installation_id: int) -> str:
        with self._lock:
            cached = self._cache.get(installation_id)
            if cached is None or cached.expires_at - self._margin <= time.time():
                granted = self._integration.get_access_token(installation_id)
                cached = _Cached(granted.token, granted.expires_at.timestamp())
                self._cache[installation_id] = cached
            return cached.token

    def bot_login(self) -> str:
        """The login this App posts as, `<slug>[bot]`, from `GET /app`; asked once. Any App's
        user is of type Bot, so the type alone never says a post is this App's."""
        with self._lock:
            if self._login is None:
                self._login = f"{self._integration.get_app().slug}[bot]"
            return self._login
