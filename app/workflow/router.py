"""The context a handler receives, and what handlers share to say which deliveries they take.

Each handler module has its own `router`; app/workflow/routes.py composes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infrar.app.fields import INSTALLED, Spec

if TYPE_CHECKING:
    from infrar.app.github.client import GitHubClient
    from infrar.app.runtime import Runtime
    from infrar.app.state.deliveries import Job


@dataclass
class Context:
    runtime: Runtime
    job: Job

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    @property
    def repo(self) -> str:
        return str(self.payload["repository"]["full_name"])

    @property
    def installation_id(self) -> int:
        return int(self.payload["installation"]["id"])

    @cached_property
    def github(self) -> GitHubClient:
        return self.runtime.github(repo=self.repo, installation_id=self.installation_id)

    def token(self) -> str:
        return self.runtime.tokens.token(self.installation_id)

    @property
    def work_dir(self) -> Path:
        from infrar.app.workdirs import own

        return own(self.runtime.settings.data_dir)


CHECKED_OUT: Spec = {**INSTALLED, "repository.clone_url": "str", "repository.html_url?": "str"}
"""What a handler that may check the repository out and plan needs."""


def from_installation(payload: Mapping[str, Any]) -> bool:
    """Deliveries to an App carry its installation; without one there is no token to act with."""
    installation = payload.get("installation")
    repository = payload.get("repository")
    return (isinstance(installation, Mapping) and isinstance(installation.get("id"), int)
            and isinstance(repository, Mapping) and isinstance(repository.get("full_name"), str))

