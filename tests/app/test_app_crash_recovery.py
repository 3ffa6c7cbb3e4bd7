"""A worker killed mid-job (kill -9) and restarted finishes the job: no delivery lost, no
comment, review or check run duplicated, and a redelivered webhook is not processed twice. A
server killed right after its 202 has the delivery and its queue message stored: it runs
once."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import payloads
from app_support import SECRET, read_logs, wait_for
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO
from sqlalchemy import select

from infrar.app.queue import build_queue
from infrar.app.settings import Settings
from infrar.app.state import deliveries
from infrar.app.state.db import Database
from infrar.app.state.models import Delivery


def test_killed_worker_resumes_without_duplicates(fake: FakeGitHub, app_env: dict[str, str],
                                                 start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "0")
    logs = partial(read_logs, tmp_path)
    fake.create_repo(REPO, BASE_FILES)
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    release = fake.hold("POST", f"/pulls/{pull.number}/reviews")
    worker = start_app("worker", app_env)

    payload = payloads.pull_request(fake, REPO, pull, "opened")
    assert fake.deliver(url, SECRET.encode(), "pull_request", payload,
                        delivery="delivery-1").status_code == 202
    # The review is stored on "GitHub", but the worker never hears back: it dies here.
    assert fake.held.wait(90), logs()
    worker.kill()
    release.set()
    assert fake.deliver(url, SECRET.encode(), "pull_request", payload,
                        delivery="delivery-1").json()["status"] == "duplicate"

    start_app("worker", app_env)
    db = Database(Settings.from_env(app_env).resolved_database_url)
    row = wait_for(lambda: _done(db, "delivery-1"), timeout=90, what="the resumed job",
                   logs=logs)
    assert row.attempts == 2, row.attempts
    assert len(fake.bot_reviews(REPO, pull.number)) == 1
    assert fake.bot_comments(REPO, pull.number) == []
    runs = list(fake.repos[REPO].check_runs.values())
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "success")]
    assert fake.git.ref_exists(REPO, "refs/heads/infrar/pr-1")


def test_a_delivery_acknowledged_just_before_a_crash_runs_once(
        fake: FakeGitHub, app_env: dict[str, str], start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--embedded-workers", "0")
    server = start_app.processes[-1]
    logs = partial(read_logs, tmp_path)
    fake.create_repo(REPO, BASE_FILES)
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    payload = payloads.pull_request(fake, REPO, pull, "opened")
    assert fake.deliver(url, SECRET.encode(), "pull_request", payload,
                        delivery="delivery-1").status_code == 202
    server.kill()

    settings = Settings.from_env(app_env)
    db = Database(settings.resolved_database_url)
    assert deliveries.status(db, "delivery-1") == deliveries.QUEUED
    assert build_queue(settings.resolved_queue_url).pending_count() == 1
    start_app("worker", app_env)
    row = wait_for(lambda: _done(db, "delivery-1"), timeout=90, what="the delivery", logs=logs)
    assert row.attempts == 1, row.attempts
    assert len(fake.bot_reviews(REPO, pull.number)) == 1
    url = start_app("serve", app_env, "--embedded-workers", "0")
    assert fake.deliver(url, SECRET.encode(), "pull_request", payload,
                        delivery="delivery-1").json()["status"] == "duplicate"


def _done(db: Database, delivery_id: str) -> Delivery | None:
    with db.session() as s:
        row = s.execute(select(Delivery).where(Delivery.id == delivery_id)).scalar_one()
        return row if row.status == "done" else None
