"""The App's configuration, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_WEB_URL = "https://github.com"
_TRUE = ("1", "true", "yes", "on")


class SettingsError(ValueError):
    """The environment does not describe a runnable App."""


@dataclass(frozen=True)
class Settings:
    webhook_secret: bytes = field(repr=False)
    app_id: str = ""
    private_key: str = field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    data_dir: Path = Path(".infrar-app")
    database_url: str = ""
    queue_url: str = ""
    encryption_keys: tuple[bytes, ...] = field(default=(), repr=False)
    allow_fork_plans: bool = False
    lease_seconds: float = 90.0
    requeue_seconds: float = 60.0
    github_write_interval: float = 1.0
    bot_branch_prefix: str = "infrar/pr-"
    plan_workers: int = 2
    """How many Terraform plans (projects x environments) one job runs at once."""
    github_client_id: str = ""
    """The App's OAuth client id and secret: sign-in to the dashboard (docs/dashboard.md)."""
    github_client_secret: str = field(default="", repr=False)
    web_url: str = DEFAULT_WEB_URL
    session_key: bytes = field(default=b"", repr=False)
    """Signs dashboard sessions; empty: derived from the webhook secret."""
    cookie_secure: bool = True
    access_recheck_seconds: float = 300.0

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'infrar.db').resolve()}"

    @property
    def resolved_queue_url(self) -> str:
        """By default the queue shares the state's SQLite file (one write per delivery); with
        PostgreSQL state, a SQLite file of its own."""
        if self.queue_url:
            return self.queue_url
        database = self.resolved_database_url
        if database.startswith("sqlite:///"):
            return database
        return f"sqlite:///{(self.data_dir / 'queue.db').resolve()}"

    def check_github_app(self) -> None:
        """Processes that act on GitHub (queue workers) refuse to start without the App's id
        and key, rather than fail on the first pull request."""
        missing = [name for name, value in (
            ("INFRAR_GITHUB_APP_ID", self.app_id),
            ("INFRAR_GITHUB_PRIVATE_KEY (or INFRAR_GITHUB_PRIVATE_KEY_PATH)", self.private_key),
        ) if not value]
        if missing:
            raise SettingsError(f"{' and '.join(missing)} not set: the App cannot act on GitHub "
                                "(`infrar app register` creates the App and writes them)")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        secret = env.get("INFRAR_WEBHOOK_SECRET", "")
        if not secret:
            raise SettingsError(
                "INFRAR_WEBHOOK_SECRET is not set: the App refuses to accept unsigned webhooks")
        api_url = env.get("INFRAR_GITHUB_API_URL", "").rstrip("/") or DEFAULT_API_URL
        return cls(
            webhook_secret=secret.encode(),
            app_id=env.get("INFRAR_GITHUB_APP_ID", ""),
            private_key=_private_key(env),
            api_url=api_url,
            data_dir=Path(env.get("INFRAR_DATA_DIR", "") or ".infrar-app"),
            database_url=env.get("INFRAR_DATABASE_URL", ""),
            queue_url=env.get("INFRAR_QUEUE_URL", ""),
            encryption_keys=_encryption_keys(env.get("INFRAR_ENCRYPTION_KEY", "")),
            allow_fork_plans=env.get("INFRAR_ALLOW_FORK_PLANS", "").lower() in _TRUE,
            lease_seconds=float(env.get("INFRAR_LEASE_SECONDS", "") or 90),
            requeue_seconds=float(env.get("INFRAR_REQUEUE_SECONDS", "") or 60),
            github_write_interval=float(env.get("INFRAR_GITHUB_WRITE_INTERVAL", "") or 1.0),
            plan_workers=max(1, int(env.get("INFRAR_PLAN_WORKERS", "") or 2)),
            github_client_id=env.get("INFRAR_GITHUB_CLIENT_ID", ""),
            github_client_secret=env.get("INFRAR_GITHUB_CLIENT_SECRET", ""),
            web_url=env.get("INFRAR_GITHUB_WEB_URL", "").rstrip("/") or web_url_for(api_url),
            session_key=env.get("INFRAR_SESSION_KEY", "").encode(),
            cookie_secure=env.get("INFRAR_INSECURE_COOKIES", "").lower() not in _TRUE,
            access_recheck_seconds=float(env.get("INFRAR_ACCESS_RECHECK_SECONDS", "") or 300),
        )


def web_url_for(api_url: str) -> str:
    """GitHub's web address for its REST address: github.com for api.github.com, and
    `https://HOST` for GitHub Enterprise Server's `https://HOST/api/v3`."""
    api_url = api_url.rstrip("/")
    if api_url == DEFAULT_API_URL:
        return DEFAULT_WEB_URL
    return api_url.removesuffix("/api/v3")


SECRET_VARIABLES = ("INFRAR_WEBHOOK_SECRET", "INFRAR_GITHUB_PRIVATE_KEY", "INFRAR_ENCRYPTION_KEY",
                    "INFRAR_GITHUB_CLIENT_SECRET", "INFRAR_SESSION_KEY")


def scrub_environment() -> None:
    """Drop the App's secrets from this process's environment once read, so no child process
    (git, Terraform and the providers and provisioners it runs) can inherit them."""
    for name in SECRET_VARIABLES:
        os.environ.pop(name, None)


def _private_key(env: Mapping[str, str]) -> str:
    inline = env.get("INFRAR_GITHUB_PRIVATE_KEY", "")
    if inline:
        # Environments that cannot hold newlines carry the PEM with literal "\n".
        return inline.replace("\\n", "\n")
    path = env.get("INFRAR_GITHUB_PRIVATE_KEY_PATH", "")
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="ascii")
    except OSError as exc:
        raise SettingsError(f"INFRAR_GITHUB_PRIVATE_KEY_PATH: cannot read {path}: {exc}") from None


def _encryption_keys(value: str) -> tuple[bytes, ...]:
    """Comma-separated base64 keys, newest first: the first encrypts, all decrypt (rotation)."""
    from infrar.app.crypto import parse_keys

    try:
        return parse_keys(value)
    except ValueError as exc:
        raise SettingsError(f"INFRAR_ENCRYPTION_KEY: {exc}") from None
