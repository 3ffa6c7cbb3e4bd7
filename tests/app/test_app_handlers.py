"""Handlers that need no plan: installations; `/infrar help` from another bot, and the App's
own comments never taken for commands; and the `undiverged` requirement."""

from __future__ import annotations

from pathlib import Path

import payloads
import pytest
from app_support import SECRET
from fake_github import BOT, OTHER_BOT, FakeGitHub
from scenario import BASE_FILES, REPO

from infrar.app.github.client import GitHubClient
from infrar.app.runtime import Runtime
from infrar.app.settings import Settings
from infrar.app.state import installations
from infrar.app.state.deliveries import Job
from infrar.app.workflow.requirements import unmet
from infrar.app.workflow.router import Context
from infrar.app.workflow.routes import ROUTER


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime.from_settings(Settings.from_env({
        "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_DATA_DIR": str(tmp_path / "data")}))


def dispatch(runtime: Runtime, event: str, payload: dict) -> None:  # type: ignore[type-arg]
    job = Job("d", event, payload.get("action"), None, payload, 1)
    assert ROUTER.dispatch(Context(runtime, job), event, job.action, payload, job) == 1


def test_installation_events_keep_the_table_current(runtime: Runtime) -> None:
    created = payloads.example("installation", "created")
    inst = created["installation"]["id"]
    dispatch(runtime, "installation", created)
    names = [r["full_name"] for r in created["repositories"]]
    assert installations.repos(runtime.db, inst) == sorted(names)

    changed = payloads.example("installation_repositories", "added")
    changed["installation"]["id"] = inst
    dispatch(runtime, "installation_repositories", changed)
    added = {r["full_name"] for r in changed["repositories_added"]}
    assert added <= set(installations.repos(runtime.db, inst))

    suspended = payloads.example("installation", "suspend")
    suspended["installation"]["id"] = inst
    dispatch(runtime, "installation", suspended)
    row = installations.get(runtime.db, inst)
    assert row is not None and row.suspended

    deleted = payloads.example("installation", "deleted")
    deleted["installation"]["id"] = inst
    dispatch(runtime, "installation", deleted)
    assert installations.get(runtime.db, inst) is None
    assert installations.repos(runtime.db, inst) == []


def test_undiverged_requirement_counts_commits_behind(fake: FakeGitHub) -> None:
    from infrar.app.github.auth import InstallationTokens

    fake.create_repo(REPO, BASE_FILES)
    tokens = InstallationTokens(app_id=str(fake.app_id), private_key=fake.private_pem,
                                api_url=fake.api_url)
    gh = GitHubClient(repo=REPO, token=lambda: tokens.token(fake.installation_id),
                      app_login=tokens.bot_login, api_url=fake.api_url, write_interval=0)
    pull = fake.open_pull(REPO, "feature", {"a.py": "a = 1\n"})
    assert unmet(gh, gh.pull(pull.number), ["undiverged"]) == []
    fake.git.commit(REPO, "main", {"b.py": "b = 1\n"}, new_branch=False)
    reasons = unmet(gh, gh.pull(pull.number), ["undiverged", "mergeable"])
    assert len(reasons) == 1 and "1 commit(s) behind `main`" in reasons[0]


def _comment_payload(fake: FakeGitHub, pull: object, posted: dict) -> dict:  # type: ignore[type-arg]
    payload = payloads.example("issue_comment", "created")
    number = posted["issue_url"].rsplit("/", 1)[1]
    payload["issue"] = {**payload["issue"], "number": int(number),
                        "pull_request": {"url": f"{fake.api_url}/repos/{REPO}/pulls/{number}"}}
    payload["comment"] = {**payload["comment"], **posted}
    payload["repository"] = {**payload["repository"], **fake.repo_json(REPO)}
    payload["installation"] = {"id": fake.installation_id}
    payload["sender"] = posted["user"]
    return payload


def test_another_bots_command_is_answered_and_our_own_comments_are_not(
        fake: FakeGitHub, tmp_path: Path) -> None:
    from infrar.app.workflow.comments import wanted

    fake.create_repo(REPO, BASE_FILES)
    pull = fake.open_pull(REPO, "feature", {"a.py": "a = 1\n"})
    runtime = Runtime.from_settings(Settings.from_env({
        "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_DATA_DIR": str(tmp_path / "data"),
        "INFRAR_GITHUB_APP_ID": str(fake.app_id), "INFRAR_GITHUB_PRIVATE_KEY": fake.private_pem,
        "INFRAR_GITHUB_API_URL": fake.api_url, "INFRAR_GITHUB_WRITE_INTERVAL": "0"}))

    theirs = fake.add_comment_as(REPO, pull.number, OTHER_BOT, "/infrar help")
    payload = _comment_payload(fake, pull, theirs)
    assert wanted(payload)
    dispatch(runtime, "issue_comment", payload)
    assert theirs["reactions_given"] == ["eyes"]
    answers = fake.bot_comments(REPO, pull.number)
    assert len(answers) == 1 and "Infrar commands" in answers[0]["body"]

    for via_app in (False, True):  # known by its bot login, or by the App id GitHub names
        ours = fake.add_comment_as(REPO, pull.number, BOT, "/infrar help")
        payload = _comment_payload(fake, pull, ours)
        if via_app:
            payload["comment"]["performed_via_github_app"] = {"id": fake.app_id}
        dispatch(runtime, "issue_comment", payload)
        assert "reactions_given" not in ours
    assert len(fake.bot_comments(REPO, pull.number)) == 3  # the answer and our two comments
