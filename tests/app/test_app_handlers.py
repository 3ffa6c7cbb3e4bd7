"""Handlers that need no pull request: installations; and the `undiverged` requirement."""

from __future__ import annotations

from pathlib import Path

import payloads
import pytest
from app_support import SECRET
from fake_github import FakeGitHub
from scenario import BASE_FILES, REPO

from infrar.app.github.client import GitHubClient
from infrar.app.runtime import Runtime
from infrar.app.settings import Settings
from infrar.app.state import installations
from infrar.app.state.deliveries import Job
from infrar.app.workflow.requirements import unmet
from infrar.app.workflow.router import ROUTER, Context


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
                      api_url=fake.api_url, write_interval=0)
    pull = fake.open_pull(REPO, "feature", {"a.py": "a = 1\n"})
    assert unmet(gh, gh.pull(pull.number), ["undiverged"]) == []
    fake.git.commit(REPO, "main", {"b.py": "b = 1\n"}, new_branch=False)
    reasons = unmet(gh, gh.pull(pull.number), ["undiverged", "mergeable"])
    assert len(reasons) == 1 and "1 commit(s) behind `main`" in reasons[0]
