"""What each kind of service's Containerfile runs, and what it refuses, without building."""

from __future__ import annotations

import json

import pytest

from infrar.engine.config import ServiceConfig
from infrar.engine.images import (
    DEFAULT_BASE_IMAGE,
    ImageError,
    command,
    containerfile,
    image_context,
    requirements,
)
from infrar.engine.pipeline import Build

BUILD = Build("aws", ("prod",), {
    "shop/__init__.py": b"",
    "shop/web.py": b"from infrar_native.storage import read\n",
    "jobs/prune.py": b"def run():\n    pass\n",
    "infrar_native/__init__.py": b"",
    "infrar_native/storage.py": b"import boto3\n",
    "requirements.infrar.txt": b"boto3>=1.28\n",
}, ("boto3>=1.28",))


def _cmd(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith("CMD "))
    parsed: list[str] = json.loads(line[4:])
    return parsed


def test_an_asgi_service_runs_under_uvicorn_which_the_image_installs() -> None:
    service = ServiceConfig("api", "http", entry="shop.web:app", interface="asgi", port=9000)
    assert command(service) == ["python", "-m", "uvicorn", "--host", "0.0.0.0", "--port",
                                "9000", "shop.web:app"]
    assert requirements(BUILD, service) == ["boto3>=1.28", "uvicorn==0.34.0"]


def test_a_schedule_entry_calls_its_function_once_and_has_no_port_or_health_check() -> None:
    service = ServiceConfig("nightly", "schedule", entry="jobs.prune:run",
                            schedule="30 2 * * *")
    text = containerfile(service, base_image=DEFAULT_BASE_IMAGE, environment="prod")
    assert _cmd(text) == ["python", "-c", "import jobs.prune; jobs.prune.run()"]
    assert "EXPOSE" not in text and "HEALTHCHECK" not in text
    assert requirements(BUILD, service) == ["boto3>=1.28"]  # no server


def test_a_command_runs_exactly_as_written_in_exec_form() -> None:
    service = ServiceConfig("worker", "worker", command=("python", "-m", "jobs.prune", "--all"))
    text = containerfile(service, base_image=DEFAULT_BASE_IMAGE, environment="prod")
    assert _cmd(text) == ["python", "-m", "jobs.prune", "--all"]


def test_the_default_base_is_pinned_by_digest() -> None:
    text = containerfile(ServiceConfig("w", "worker", command=("true",)),
                         base_image=DEFAULT_BASE_IMAGE, environment="prod")
    assert "python:3.12-slim" in DEFAULT_BASE_IMAGE and "@sha256:" in DEFAULT_BASE_IMAGE
    assert f"ARG BASE_IMAGE={DEFAULT_BASE_IMAGE}" in text.splitlines()


@pytest.mark.parametrize("entry", ["shop.web", "shop.web:app; import os", "shop web:app",
                                   "shop.web:app()", ":app"])
def test_an_entry_that_is_not_module_attribute_is_refused(entry: str) -> None:
    with pytest.raises(ImageError, match="is not module:attribute"):
        command(ServiceConfig("api", "worker", entry=entry))


def test_a_service_with_paths_carries_only_them_and_the_native_package() -> None:
    service = ServiceConfig("nightly", "schedule", entry="jobs.prune:run", paths=("jobs",))
    context = image_context(BUILD, service, environment="prod")
    code = sorted(path for path in context.files if path.startswith("app/"))
    assert code == ["app/infrar_native/__init__.py", "app/infrar_native/storage.py",
                    "app/jobs/prune.py"]
    assert context.files["requirements.txt"] == b"boto3>=1.28\n"


def test_a_tree_with_an_infrar_package_is_refused() -> None:
    build = Build("aws", ("prod",), {**BUILD.files, "infrar/__init__.py": b""}, ())
    with pytest.raises(ImageError, match="must run without Infrar"):
        image_context(build, ServiceConfig("w", "worker", command=("true",)),
                      environment="prod")
