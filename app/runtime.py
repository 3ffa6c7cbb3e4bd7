"""The services one App process holds: settings, database, queue, GitHub access, engine ports."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from huey import Huey
from huey.api import TaskWrapper

from infrar.app.crypto import Vault
from infrar.app.github.auth import InstallationTokens
from infrar.app.github.client import GitHubClient
from infrar.app.queue import EnqueueIn, build_queue, enqueuer_in_transaction, register
from infrar.app.settings import Settings
from infrar.app.state.db import Database

if TYPE_CHECKING:
    from infrar.engine.terraform.init_cache import InitCache

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    queue: Huey
    task: TaskWrapper = field(init=False)
    enqueue_in: EnqueueIn | None = field(init=False)
    """Queue a delivery inside a state session (SQLite, same file); None: use `enqueue`."""

    def __post_init__(self) -> None:
        from infrar.app.jobs import run_delivery  # jobs imports the workflow, which is heavy

        self.task = register(self.queue, lambda delivery_id: run_delivery(self, delivery_id))
        database = self.db.engine.url.database if self.db.is_sqlite else None
        self.enqueue_in = enqueuer_in_transaction(self.queue, self.task, database)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        db.create_schema()
        if not settings.encryption_keys:
            log.warning("INFRAR_ENCRYPTION_KEY is not set: pull requests cannot be planned, "
                        "since plans, Terraform state and credentials are stored encrypted")
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

    @cached_property
    def init_cache(self) -> InitCache:
        """What `terraform init` prepared, reused by later plans of the same providers."""
        from infrar.engine.terraform.init_cache import InitCache

        return InitCache(self.settings.data_dir / "terraform-init")

    def github(self, *, repo: str, installation_id: int) -> GitHubClient:
        return GitHubClient(repo=repo, token=lambda: self.tokens.token(installation_id),
                            app_login=lambda: self.tokens.bot_login(),
                            api_url=self.settings.api_url,
                            write_interval=self.settings.github_write_interval)
