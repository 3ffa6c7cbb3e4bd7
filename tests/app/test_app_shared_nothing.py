"""Workers share nothing but Redis and PostgreSQL: one worker process plans (with a data folder
of its own), is stopped and its folder deleted; another worker process, with another data
folder, applies `/infrar apply`: the apply succeeds and applies exactly the plan that was
reviewed (its head SHA and digest), from the archive and state in the database."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import payloads
from app_support import ENCRYPTION_KEY, SECRET, read_logs, wait_for
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO

from infrar.app.crypto import Vault, parse_keys
from infrar.app.state import plans, tfstate
from infrar.app.state.db import Database


def test_plan_on_one_worker_apply_on_another(fake: FakeGitHub, app_env: dict[str, str],
                                             start_app, postgres_url: str, redis_url: str,
                                             tmp_path: Path) -> None:
    shared = {**app_env, "INFRAR_DATABASE_URL": postgres_url, "INFRAR_QUEUE_URL": redis_url}
    folders = {name: tmp_path / f"data-{name}" for name in ("web", "planner", "applier")}
    url = start_app("serve", {**shared, "INFRAR_DATA_DIR": str(folders["web"])},
                    "--embedded-workers", "0")
    planner = start_app("worker", {**shared, "INFRAR_DATA_DIR": str(folders["planner"])})
    logs = partial(read_logs, tmp_path)
    fake.create_repo(REPO, BASE_FILES)
    fake.repos[REPO].permissions["alice"] = "write"
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    assert fake.deliver(url, SECRET.encode(), "pull_request",
                        payloads.pull_request(fake, REPO, pull, "opened")).status_code == 202
    review = wait_for(lambda: fake.bot_reviews(REPO, pull.number), what="the review",
                      logs=logs)[0]
    assert "Plan: 1 to add" in review["body"]
    db = Database(postgres_url)
    reviewed = plans.latest(db, repo=REPO, pr=pull.number, environment="production")
    assert reviewed is not None and reviewed.reviewed and reviewed.status == plans.PLANNED
    wait_for(lambda: _all_done(db), what="the plan delivery finished", logs=logs)

    planner.stop()
    shutil.rmtree(folders["planner"])  # nothing the planner kept on disk is left
    start_app("worker", {**shared, "INFRAR_DATA_DIR": str(folders["applier"])})
    fake.approve(REPO, pull.number, "bob")
    command = payloads.comment(fake, REPO, pull, "/infrar apply -e production", "alice")
    assert fake.deliver(url, SECRET.encode(), "issue_comment", command).status_code == 202
    answer = wait_for(lambda: [c for c in fake.bot_comments(REPO, pull.number)
                               if "production" in c["body"]], what="the apply answer",
                      logs=logs)[0]
    assert "Applied `production`" in answer["body"], answer["body"]
    assert reviewed.head_sha[:7] in answer["body"] and reviewed.digest[:12] in answer["body"]
    after = plans.latest(db, repo=REPO, pr=pull.number, environment="production")
    assert after is not None and (after.id, after.status) == (reviewed.id, plans.APPLIED)
    assert (Path(app_env["INFRAR_LOCAL_ROOT"]) / "photos-production-uploads").is_dir()
    state = tfstate.load(db, Vault(parse_keys(ENCRYPTION_KEY)), repo=REPO,
                         environment="production")
    assert state is not None and b"photos-production-uploads" in state
    db.dispose()


def _all_done(db: Database) -> bool:
    from sqlalchemy import func, select

    from infrar.app.state.models import Delivery

    with db.session() as s:
        pending = s.execute(select(func.count()).select_from(Delivery).where(
            Delivery.status.notin_(("done", "failed", "ignored")))).scalar_one()
    return pending == 0
