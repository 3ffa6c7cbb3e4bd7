"""Helpers the App tests import by name (conftest modules share one module name, so
importing from them depends on collection order)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fake_github import FakeGitHub

SECRET = "test-webhook-secret"
ENCRYPTION_KEY = base64.b64encode(b"k" * 32).decode()


def read_logs(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.glob("*.log")))


def wait_for(condition: Callable[[], Any], *, timeout: float = 60, what: str = "condition",
             logs: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{logs()}")


class Deliveries:
    """Send deliveries to a running App and wait until its workers have finished them."""

    def __init__(self, fake: FakeGitHub, url: str, env: dict[str, str],
                 logs: Callable[[], str]) -> None:
        from infrar.app.settings import Settings
        from infrar.app.state.db import Database

        self.fake, self.url, self.logs = fake, url, logs
        self.db = Database(Settings.from_env(env).resolved_database_url)
        self.count = 0

    def send(self, event: str, payload: dict[str, Any], *, wait: bool = True) -> str:
        self.count += 1
        delivery = f"delivery-{self.count}"
        answer = self.fake.deliver(self.url, SECRET.encode(), event, payload, delivery=delivery)
        assert answer.status_code == 202, answer.text
        if wait:
            self.wait(delivery)
        return delivery

    def wait(self, delivery: str) -> None:
        from infrar.app.state import deliveries

        wait_for(lambda: deliveries.status(self.db, delivery) in ("done", "failed"),
                 what=f"{delivery} to finish", logs=self.logs)
        assert deliveries.status(self.db, delivery) == "done", self.logs()
