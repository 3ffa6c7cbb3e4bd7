"""`/infrar` comments: help, errors, permissions, apply requirements (approved, undiverged),
stale heads, locks, apply of the reviewed plan, unlock, and clean-up on close."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import payloads
from app_support import Deliveries, read_logs
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, CONFIG, REPO


def bodies(fake: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in fake.bot_comments(REPO, number)]


def test_commands_requirements_locks_and_apply(fake: FakeGitHub, app_env: dict[str, str],
                                               start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env,
                      partial(read_logs, tmp_path))
    fake.create_repo(REPO, BASE_FILES)
    fake.repos[REPO].permissions.update(alice="write", bob="write", mallory="read")
    one = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, one, "opened"))

    def command(body: str, login: str = "alice") -> str:
        send.send("issue_comment", payloads.comment(fake, REPO, one, body, login))
        return bodies(fake, one.number)[-1]

    assert "Infrar commands" in command("/infrar help")
    assert "unknown command" in command("/infrar destroy")
    assert "may not run" in command("/infrar apply -e production", "mallory")
    refused = command("/infrar apply -e production")
    assert "approving review" in refused and "Not applied" in refused
    asked = fake.repos[REPO].comments[one.number][-2]
    assert asked["reactions_given"] == ["eyes", "confused"]

    two = fake.open_pull(REPO, "other", {"src/other.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, two, "opened"))
    locked = fake.bot_reviews(REPO, two.number)[-1]["body"]
    assert "Locked by" in locked and f"/pull/{one.number}" in locked

    fake.approve(REPO, one.number, "bob")
    old_head = one.head_sha
    fake.push_to_pull(REPO, one.number, {"README.md": "# photos, again\n"})
    stale = command("/infrar apply -e production")
    assert f"made for {old_head[:7]}" in stale and "head is now" in stale

    command("/infrar plan")
    assert one.head_sha[:7] in fake.bot_reviews(REPO, one.number)[-1]["body"]
    applied = command("/infrar apply")
    assert "Applied `production`" in applied, applied
    assert (Path(app_env["INFRAR_LOCAL_ROOT"]) / "photos-production-uploads").is_dir()
    assert "already applied" in command("/infrar apply -e production")
    assert "Released 1 lock(s)" in command("/infrar unlock")

    assert fake.git.ref_exists(REPO, "refs/heads/infrar/pr-2")
    two.state = "closed"
    send.send("pull_request", payloads.pull_request(fake, REPO, two, "closed"))
    assert not fake.git.ref_exists(REPO, "refs/heads/infrar/pr-2")


def test_drafts_forks_and_invalid_configuration(fake: FakeGitHub, app_env: dict[str, str],
                                                start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env,
                      partial(read_logs, tmp_path))
    fake.create_repo(REPO, BASE_FILES)

    draft = fake.open_pull(REPO, "draft", {"src/app.py": APP_PY}, draft=True)
    send.send("pull_request", payloads.pull_request(fake, REPO, draft, "opened"))
    assert fake.bot_reviews(REPO, draft.number) == []
    draft.draft = False
    send.send("pull_request", payloads.pull_request(fake, REPO, draft, "ready_for_review"))
    assert len(fake.bot_reviews(REPO, draft.number)) == 1

    fork = fake.open_pull(REPO, "from-fork", {"src/app.py": APP_PY}, fork="mallory/photos")
    send.send("pull_request", payloads.pull_request(fake, REPO, fork, "opened"))
    assert "comes from a fork" in bodies(fake, fork.number)[0]
    assert not fake.git.ref_exists(REPO, f"refs/heads/infrar/pr-{fork.number}")
    runs = [r for r in fake.repos[REPO].check_runs.values() if r["head_sha"] == fork.head_sha]
    assert [r["conclusion"] for r in runs] == ["neutral"]

    broken = fake.open_pull(REPO, "broken", {".infrar.yaml": "version: 2\nprovider: local\n"})
    send.send("pull_request", payloads.pull_request(fake, REPO, broken, "opened"))
    assert "`.infrar.yaml` is invalid" in bodies(fake, broken.number)[0]
    run = next(r for r in fake.repos[REPO].check_runs.values()
               if r["head_sha"] == broken.head_sha)
    assert run["conclusion"] == "failure"
    assert [(a["path"], a["start_line"]) for a in run["output"]["annotations"]] == [
        (".infrar.yaml", 1)]
    assert not fake.git.ref_exists(REPO, f"refs/heads/infrar/pr-{broken.number}")


def test_merge_applies_only_the_plan_made_for_the_merged_head(
        fake: FakeGitHub, app_env: dict[str, str], start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env,
                      partial(read_logs, tmp_path))
    fake.create_repo(REPO, BASE_FILES)
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))
    planned = pull.head_sha
    fake.push_to_pull(REPO, pull.number, {"README.md": "# unreviewed change\n"})
    fake.merge_pull(REPO, pull.number)
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "closed"))
    report = bodies(fake, pull.number)[-1]
    assert "Not applied: `production`" in report and f"made for {planned[:7]}" in report
    assert not (Path(app_env["INFRAR_LOCAL_ROOT"]) / "photos-production-uploads").exists()
    assert not fake.git.ref_exists(REPO, "refs/heads/infrar/pr-1")


def test_apply_is_refused_while_the_branch_is_behind_its_base(
        fake: FakeGitHub, app_env: dict[str, str], start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env, partial(read_logs, tmp_path))
    undiverged = CONFIG.replace("[approved, mergeable]", "[undiverged]")
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": undiverged})
    fake.repos[REPO].permissions["alice"] = "write"
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))
    assert "Plan: 1 to add" in fake.bot_reviews(REPO, pull.number)[-1]["body"]
    fake.git.commit(REPO, "main", {"README.md": "# photos, moved on\n"}, message="base moves")

    send.send("issue_comment", payloads.comment(fake, REPO, pull, "/infrar apply", "alice"))
    refused = bodies(fake, pull.number)[-1]
    assert "Not applied: <code>production</code>" in refused, refused
    assert "1 commit(s) behind `main`" in refused and "`undiverged`" in refused
    assert "approving review" not in refused and "mergeable" not in refused
    assert fake.repos[REPO].comments[pull.number][0]["reactions_given"] == ["eyes", "confused"]
    assert not (Path(app_env["INFRAR_LOCAL_ROOT"]) / "photos-production-uploads").exists()
    assert any(c.path == f"/repos/{REPO}/compare/main...{pull.head_sha}" for c in fake.calls)
