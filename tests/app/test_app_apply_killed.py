"""A worker killed with kill -9 while Terraform applies: the lock stays held, the pull request
is told that the apply was interrupted and how to recover, nothing is applied behind its back
and the apply is not started again (neither by the delivery's retry, nor on merge).

Terraform is made slow by a wrapper (INFRAR_TF_BINARY) that notes every `apply` and sleeps
before running the real binary."""

from __future__ import annotations

import os
import shutil
import stat
import time
from functools import partial
from pathlib import Path

import payloads
from app_support import SECRET, read_logs, wait_for
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO
from sqlalchemy import select

from infrar.app.settings import Settings
from infrar.app.state import locks, plans
from infrar.app.state.db import Database
from infrar.app.state.models import Delivery


def _slow_terraform(folder: Path, real: str, marker: Path) -> Path:
    script = folder / "slow-terraform"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "apply" ]; then echo apply >> "{marker}"; sleep 60; fi\n'
        f'exec "{real}" "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_worker_killed_during_apply(fake: FakeGitHub, app_env: dict[str, str], start_app,
                                    tmp_path: Path) -> None:
    real = app_env.get("INFRAR_TF_BINARY") or shutil.which("terraform") or ""
    assert real and os.access(real, os.X_OK), "no Terraform binary to wrap"
    marker = tmp_path / "applies"
    env = {**app_env, "INFRAR_TF_BINARY": str(_slow_terraform(tmp_path, real, marker))}
    url = start_app("serve", env, "--embedded-workers", "0")
    worker = start_app("worker", env)
    logs = partial(read_logs, tmp_path)
    fake.create_repo(REPO, BASE_FILES)
    fake.repos[REPO].permissions["alice"] = "write"
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    assert fake.deliver(url, SECRET.encode(), "pull_request",
                        payloads.pull_request(fake, REPO, pull, "opened")).status_code == 202
    wait_for(lambda: fake.bot_reviews(REPO, pull.number), what="the review", logs=logs)
    fake.approve(REPO, pull.number, "bob")
    command = payloads.comment(fake, REPO, pull, "/infrar apply -e production", "alice")
    assert fake.deliver(url, SECRET.encode(), "issue_comment", command,
                        delivery="apply-1").status_code == 202
    wait_for(marker.is_file, what="Terraform apply to start", logs=logs)
    worker.kill()  # kill -9, Terraform with it (same process group)

    start_app("worker", env)
    db = Database(Settings.from_env(app_env).resolved_database_url)
    told = wait_for(lambda: [c for c in fake.bot_comments(REPO, pull.number)
                             if "production" in c["body"]], timeout=60,
                    what="the pull request told", logs=logs)
    assert len(told) == 1, told
    body = told[0]["body"]
    assert "Apply interrupted" in body and "/infrar plan -e production" in body, body
    assert "lock" in body
    wait_for(lambda: _status(db, "apply-1") == "done", what="the retried delivery done",
             logs=logs)

    # No storm: leases and re-queues (3 s and 2 s here) pass, and nothing starts again.
    time.sleep(8)
    assert marker.read_text().splitlines() == ["apply"]
    assert len([c for c in fake.bot_comments(REPO, pull.number)
                if "production" in c["body"]]) == 1
    held = locks.get(db, repo=REPO, environment="production")
    assert held is not None and held.pr == pull.number
    plan = plans.latest(db, repo=REPO, pr=pull.number, environment="production")
    assert plan is not None and plan.status == plans.APPLYING
    assert not (Path(app_env["INFRAR_LOCAL_ROOT"]) / "photos-production-uploads").exists()
    # The killed worker's folder (its opened plan archive, in clear) was removed.
    left = [p for p in (Path(app_env["INFRAR_DATA_DIR"]) / "work").rglob("*") if p.is_file()]
    assert left == [], left
    reactions = fake.repos[REPO].comments[pull.number][0].get("reactions_given", [])
    assert "confused" in reactions and "rocket" not in reactions

    # Merging does not apply it either: the interrupted plan is refused, and said so.
    fake.merge_pull(REPO, pull.number)
    assert fake.deliver(url, SECRET.encode(), "pull_request",
                        payloads.pull_request(fake, REPO, pull, "closed")).status_code == 202
    merged = wait_for(lambda: [c for c in fake.bot_comments(REPO, pull.number)
                               if "apply on merge" in c["body"]], what="the merge report",
                      logs=logs)[0]
    assert "Apply interrupted" in merged["body"], merged["body"]
    assert marker.read_text().splitlines() == ["apply"]
    db.dispose()


def _status(db: Database, delivery_id: str) -> str | None:
    with db.session() as s:
        return s.execute(select(Delivery.status).where(
            Delivery.id == delivery_id)).scalar_one_or_none()
