"""The same App on the scale-out stack: huey on real Redis, state in real PostgreSQL, the web
process and a separate worker process sharing them. In CI a missing service fails the test."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import payloads
from app_support import SECRET, read_logs, wait_for
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO


def test_plan_review_on_redis_and_postgres(fake: FakeGitHub, app_env: dict[str, str], start_app,
                                           postgres_url: str, redis_url: str,
                                           tmp_path: Path) -> None:
    env = {**app_env, "INFRAR_DATABASE_URL": postgres_url, "INFRAR_QUEUE_URL": redis_url}
    url = start_app("serve", env, "--server", "flask", "--embedded-workers", "0")
    start_app("worker", env)
    logs = partial(read_logs, tmp_path)
    fake.create_repo(REPO, BASE_FILES)
    fake.repos[REPO].permissions["alice"] = "write"
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    assert fake.deliver(url, SECRET.encode(), "pull_request",
                        payloads.pull_request(fake, REPO, pull, "opened")).status_code == 202
    wait_for(lambda: fake.bot_reviews(REPO, pull.number), what="the review", logs=logs)

    comment = payloads.comment(fake, REPO, pull, "/infrar plan -e production", "alice")
    assert fake.deliver(url, SECRET.encode(), "issue_comment", comment).status_code == 202
    reviews = wait_for(lambda: len(fake.bot_reviews(REPO, pull.number)) == 2
                       and "superseded" in fake.bot_reviews(REPO, pull.number)[0]["body"]
                       and fake.bot_reviews(REPO, pull.number), what="the second review",
                       logs=logs)
    assert "Plan: 1 to add" in reviews[1]["body"]
    assert "eyes" in fake.repos[REPO].comments[pull.number][0].get("reactions_given", [])
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))

    def finished() -> bool:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM deliveries WHERE status = 'done'")).scalar_one() == 2

    try:
        wait_for(finished, what="both deliveries done in PostgreSQL", logs=logs)
    finally:
        engine.dispose()
