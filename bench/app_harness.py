"""What the App benchmarks share: `infrar app serve` started against the GitHub fake of the
App's tests, a pull request's delivery, waiting for its review, and closing it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "app"))

import payloads  # noqa: E402  (tests/app: the GitHub fake and its payloads)
from fake_github import FakeGitHub, Pull  # noqa: E402

from infrar.app.state import deliveries  # noqa: E402
from infrar.app.state.db import Database  # noqa: E402

SECRET = "bench-app-secret"
ENCRYPTION_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # base64 of 32 bytes
ROUND_LIMIT_S = 600.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(fake: FakeGitHub, *, data: Path, log: Path, embedded_workers: int,
              env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Database]:
    """`infrar app serve` with its state in `data` and `env` on top of the fake's settings;
    (process, URL, its database) once it answers /healthz."""
    port = free_port()
    settings = {**os.environ,
                "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_GITHUB_APP_ID": str(fake.app_id),
                "INFRAR_GITHUB_PRIVATE_KEY": fake.private_pem,
                "INFRAR_GITHUB_API_URL": fake.api_url, "INFRAR_DATA_DIR": str(data),
                "INFRAR_ENCRYPTION_KEY": ENCRYPTION_KEY, **env}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from infrar.cli.main import main; main()", "app", "serve",
         "--port", str(port), "--embedded-workers", str(embedded_workers)],
        env=settings, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=2).ok:
                return proc, url, Database(f"sqlite:///{data / 'infrar.db'}")
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"the App did not start; see {log}")


def opened(fake: FakeGitHub, repo: str, pull: Pull) -> dict[str, Any]:
    """The `pull_request.opened` payload (made before the clock starts)."""
    return dict(payloads.pull_request(fake, repo, pull, "opened"))


def deliver(fake: FakeGitHub, url: str, payload: dict[str, Any], delivery: str) -> None:
    """Send a signed `pull_request` delivery; the App must take it (202)."""
    answer = fake.deliver(url, SECRET.encode(), "pull_request", payload, delivery=delivery)
    if answer.status_code != 202:
        raise SystemExit(f"delivery refused: {answer.status_code} {answer.text}")


def wait_for_review(fake: FakeGitHub, repo: str, number: int, *, poll_s: float) -> str:
    """The body of the App's first review of the pull request, once it is posted."""
    deadline = time.monotonic() + ROUND_LIMIT_S
    while not fake.bot_reviews(repo, number):
        if time.monotonic() > deadline:
            raise SystemExit("no review within the time limit")
        time.sleep(poll_s)
    return str(fake.bot_reviews(repo, number)[0]["body"])


def close(fake: FakeGitHub, url: str, db: Database, repo: str, number: int) -> None:
    """Close the pull request and wait until the App is done with it (its locks released), so
    that the next one may take them."""
    pull = fake.repos[repo].pulls[number]
    pull.state = "closed"
    delivery = f"close-{repo}-{number}"
    fake.deliver(url, SECRET.encode(), "pull_request",
                 payloads.pull_request(fake, repo, pull, "closed"), delivery=delivery)
    deadline = time.monotonic() + ROUND_LIMIT_S
    while deliveries.status(db, delivery) != "done":
        if time.monotonic() > deadline:
            raise SystemExit(f"closing #{number} did not finish")
        time.sleep(0.05)
