"""The services one App process holds: settings, database, queue, GitHub access, engine ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from huey import Huey
from huey.api import TaskWrapper

from infrar.app.crypto import Vault
from infrar.app.github.auth import InstallationTokens
from infrar.app.github.client import GitHubClient
from infrar.app.queue import build_queue, register
from infrar.app.settings import Settings
from infrar.app.state.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    queue: Huey
    task: TaskWrapper = field(init=False)

    def __post_init__(self) -> None:
        from infrar.app.jobs import run_delivery  # jobs imports the workflow, which is heavy

        self.task = register(self.queue, lambda delivery_id: run_delivery(self, delivery_id))

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        db.create_schema()
        return cls(settings, db, build_queue(settings.resolved_queue_url))

    def enqueue(self, delivery_id: str) -> None:
        self.task(delivery_id)

    @cached_property
    def tokens(self) -> InstallationTokens:
        if not self.settings.app_id or not self.settings.private_key:
            raise RuntimeError("INFRAR_GITHUB_APP_ID and INFRAR_GITHUB_PRIVATE_KEY(_PATH) are "
                               "needed to act on GitHub")
        return InstallationTokens(app_id=self.settings.app_id,
                                  private_key=self.settings.private_key,
                                  api_url=self.settings.api_url)

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.settings.encryption_keys)

    def github(self, *, repo: str, installation_id: int) -> GitHubClient:
        return GitHubClient(repo=repo, token=lambda: self.tokens.token(installation_id),
                            api_url=self.settings.api_url,
                            write_interval=self.settings.github_write_interval)
