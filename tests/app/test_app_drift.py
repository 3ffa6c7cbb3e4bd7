"""Drift rounds against the GitHub fake, with real git and real Terraform on `local`: a bucket
folder removed by hand opens one issue, later rounds edit it (never a second one), a re-apply
through a merged pull request closes it with a note; two rounds at once check once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import payloads
import pytest
from app_support import Deliveries, read_logs, wait_for
from fake_github import ISSUE_NUMBERS, FakeGitHub
from openapi_routes import allowed
from scenario import APP_PY, BASE_FILES, CONFIG, REPO

from infrar.app.runtime import Runtime
from infrar.app.settings import Settings
from infrar.app.state import drift as drift_state
from infrar.app.state import installations
from infrar.app.workflow import drift_check
from infrar.app.workflow.kept_issue import IssueKey

DRIFT_CONFIG = CONFIG + 'drift:\n  schedule: "0 6 * * *"\n'
BUCKET = 'module.storage.null_resource.bucket["uploads"]'
CHECK = "Infrar drift (production)"


def _drift_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from infrar.cli.main import main; main()", "app", "drift-check"],
        env=env, capture_output=True, text=True, check=False, timeout=300)


def _install(send: Deliveries, fake: FakeGitHub) -> None:
    created = payloads.example("installation", "created")
    created["installation"]["id"] = fake.installation_id
    created["repositories"] = [{"id": fake.repos[REPO].id, "name": REPO.split("/")[1],
                                "full_name": REPO, "private": False}]
    send.send("installation", created)


def _merge(send: Deliveries, fake: FakeGitHub, branch: str, files: dict[str, str | None]) -> None:
    """A pull request planned, approved and merged: the environment applies on merge."""
    pull = fake.open_pull(REPO, branch, files)
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))
    fake.approve(REPO, pull.number, "bob")
    fake.merge_pull(REPO, pull.number)
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "closed"))
    wait_for(lambda: any("Applied `production`" in c["body"]
                         for c in fake.bot_comments(REPO, pull.number)),
             what="the apply on merge", logs=send.logs)


def _issue_calls(fake: FakeGitHub, method: str, path: str) -> int:
    return sum(1 for c in fake.calls if c.method == method and c.path == path)


def _drift_runs(fake: FakeGitHub, head: str) -> list[dict]:
    return [r for r in fake.repos[REPO].check_runs.values()
            if r["name"] == CHECK and r["head_sha"] == head]


def test_issue_opened_once_edited_while_drift_lasts_closed_after_reapply(
        fake: FakeGitHub, app_env: dict[str, str], start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env, partial(read_logs, tmp_path))
    env = {**os.environ, **app_env}
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": DRIFT_CONFIG})
    fake.repos[REPO].permissions["alice"] = "write"
    _install(send, fake)
    _merge(send, fake, "feature", {"src/app.py": APP_PY})
    folder = Path(app_env["INFRAR_LOCAL_ROOT"]) / "photos-production-uploads"
    assert folder.is_dir()
    issues = fake.repos[REPO].issues

    clean = _drift_check(env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"{REPO} . production: clean" in clean.stdout
    head = fake.git.rev(REPO, "refs/heads/main")
    assert [r["conclusion"] for r in _drift_runs(fake, head)] == ["success"]
    assert issues == {}

    shutil.rmtree(folder)
    drifted = _drift_check(env)
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    assert f"production: drifted (issue #{ISSUE_NUMBERS})" in drifted.stdout
    assert list(issues) == [ISSUE_NUMBERS]
    issue = issues[ISSUE_NUMBERS]
    assert issue["state"] == "open" and issue["title"] == "Drift in production"
    assert "module.storage.null_resource.bucket" in issue["body"] and "uploads" in issue["body"]
    assert "1 resource differs" in issue["body"] and head[:7] in issue["body"]
    path = f"/repos/{REPO}/issues/{ISSUE_NUMBERS}"
    assert _issue_calls(fake, "PATCH", path) == 0
    assert [r["conclusion"] for r in _drift_runs(fake, head)] == ["failure"]  # the same run

    again = _drift_check(env)
    assert again.returncode == 2
    assert list(issues) == [ISSUE_NUMBERS] and _issue_calls(fake, "PATCH", path) == 0
    assert _issue_calls(fake, "POST", f"/repos/{REPO}/issues") == 1

    moved = fake.git.commit(REPO, "main", {"README.md": "# photos, still drifting\n"},
                            message="docs")
    assert _drift_check(env).returncode == 2
    assert list(issues) == [ISSUE_NUMBERS] and _issue_calls(fake, "PATCH", path) == 1
    assert moved[:7] in issue["body"] and issue["state"] == "open"

    _merge(send, fake, "reapply", {"src/app.py": APP_PY + "\n# applied again\n"})
    assert folder.is_dir()
    gone = _drift_check(env)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    note = fake.repos[REPO].comments[ISSUE_NUMBERS][-1]["body"]
    assert note.startswith("No drift any more") and "Closing" in note
    assert list(issues) == [ISSUE_NUMBERS]
    assert all(allowed(c.method, c.path) for c in fake.calls)


@pytest.fixture
def runtime(fake: FakeGitHub, app_env: dict[str, str], monkeypatch) -> Runtime:
    for name, value in app_env.items():
        monkeypatch.setenv(name, value)
    made = Runtime.from_settings(Settings.from_env(app_env))
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": DRIFT_CONFIG, "src/app.py": APP_PY})
    installations.upsert(made.db, installation_id=fake.installation_id, account="acme",
                         account_type="Organization")
    installations.add_repos(made.db, fake.installation_id, [REPO])
    return made


def test_two_rounds_at_once_check_once_and_a_restart_keeps_the_one_issue(
        fake: FakeGitHub, runtime: Runtime, app_env: dict[str, str]) -> None:
    # Nothing applied yet: the code's bucket is not deployed, which is drift too.
    held = fake.hold("POST", "/check-runs")
    first: list[drift_check.Checked] = []
    worker = threading.Thread(target=lambda: first.extend(drift_check.run_round(runtime)))
    worker.start()
    assert fake.held.wait(60)
    second = drift_check.run_round(runtime)
    assert [(c.environment, c.outcome) for c in second] == [("production", drift_check.BUSY)]
    held.set()
    worker.join(120)
    assert [(c.outcome, c.issue) for c in first] == [(drift_check.DRIFTED, ISSUE_NUMBERS)]
    assert len(fake.repos[REPO].issues) == 1

    # A new process remembers the issue; one whose record was lost finds it by its marker.
    restarted = Runtime.from_settings(Settings.from_env(app_env))
    assert [c.issue for c in drift_check.run_round(restarted)] == [ISSUE_NUMBERS]
    drift_state.keep_issue(restarted.db, repo=REPO, project="", environment="production",
                           topic=drift_check.TOPIC, number=None)
    assert [c.issue for c in drift_check.run_round(restarted)] == [ISSUE_NUMBERS]
    assert len(fake.repos[REPO].issues) == 1
    assert IssueKey(REPO, "", "production", "drift").marker in \
        fake.repos[REPO].issues[ISSUE_NUMBERS]["body"]


def test_the_worker_checks_only_what_is_due(fake: FakeGitHub, runtime: Runtime) -> None:
    assert [c.outcome for c in drift_check.run_round(runtime, only_due=True)] == [
        drift_check.DRIFTED]  # never checked: due at once
    calls, fetches = len(fake.calls), len(fake.git_calls)
    assert drift_check.run_round(runtime, only_due=True) == []  # checked since 06:00 fired
    # Two calls (the repository, its branch head), no checkout, no check run.
    assert len(fake.calls) - calls == 2 and len(fake.git_calls) == fetches
    assert drift_check.due("0 6 * * *", checked_at=0.0, moment=86400.0 * 2)
    assert not drift_check.due("0 6 * * *", checked_at=86400.0 + 7 * 3600,
                               moment=86400.0 + 8 * 3600)
