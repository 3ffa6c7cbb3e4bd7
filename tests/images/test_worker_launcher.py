"""Workers on a platform that counts a container as started only once it listens on $PORT
(Cloud Run): the provider's compute data says so (`worker_port`), and the worker's image then
starts through a small generated launcher that answers 200 there while the worker runs. The
launcher runs here with python: it answers on the port, runs the worker's entry, and stops it
on SIGTERM."""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from infrar.engine.config import ServiceConfig
from infrar.engine.images import (
    LAUNCHER_PATH,
    command,
    image_context,
    launcher,
    worker_listen_port,
)
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.pipeline import Build

BUILD = Build("gcp", ("prod",), {"jobs/__init__.py": b"", "jobs/work.py": b"",
                                 "infrar_native/__init__.py": b""}, ())
WORKER = ServiceConfig("indexer", "worker", entry="jobs.work:run")


def test_only_providers_whose_data_says_so_give_workers_a_port() -> None:
    assert worker_listen_port(load_plugin("gcp").compute) == 8080
    assert worker_listen_port(load_plugin("aws").compute) is None
    assert worker_listen_port(load_plugin("azure").compute) is None
    assert worker_listen_port(load_plugin("local").compute) is None
    compute = load_plugin("gcp").compute
    assert compute is not None
    module = (compute.module_dir / "main.tf").read_text(encoding="utf-8")
    start = module.index('resource "google_cloud_run_v2_service" "worker"')
    worker = module[start:module.index('\nresource "', start + 1)]
    assert "container_port = var.worker_port" in worker


def test_a_worker_image_starts_through_the_launcher_where_workers_must_listen() -> None:
    context = image_context(BUILD, WORKER, environment="prod", worker_port=8080)
    lines = context.containerfile.splitlines()
    assert f'CMD ["python", "{LAUNCHER_PATH}", "python", "-c", ' \
           '"import jobs.work; jobs.work.run()"]' in lines
    assert "ENV PORT=8080" in lines and "EXPOSE 8080" in lines
    assert lines.index("COPY launcher/ /opt/launcher/") < lines.index("USER 10001:10001")
    assert context.files["launcher/worker_launcher.py"] == launcher(8080).encode()

    plain = image_context(BUILD, WORKER, environment="prod")
    assert "launcher/worker_launcher.py" not in plain.files
    assert plain.containerfile.splitlines()[-1] == f"CMD {json.dumps(command(WORKER))}"
    http = ServiceConfig("api", "http", entry="jobs.web:app", port=8000, health="/healthz")
    served = image_context(BUILD, http, environment="prod", worker_port=8080)
    assert "launcher/worker_launcher.py" not in served.files
    assert "EXPOSE 8000" in served.containerfile and "PORT=8080" not in served.containerfile


def test_the_launcher_imports_only_the_standard_library() -> None:
    tree = ast.parse(launcher(8080))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names), imported


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except OSError:
        return None


def test_the_launcher_answers_on_port_while_the_worker_entry_runs(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "__init__.py").write_text("")
    marker = tmp_path / "started"
    (tmp_path / "jobs" / "work.py").write_text(
        "import pathlib\nimport time\n\n\n"
        f"def run():\n    pathlib.Path({str(marker)!r}).write_text('working')\n"
        "    while True:\n        time.sleep(0.1)\n")
    (tmp_path / "worker_launcher.py").write_text(launcher(1))
    port = _free_port()
    worker = [sys.executable if part == "python" else part for part in command(WORKER)]
    process = subprocess.Popen([sys.executable, "worker_launcher.py", *worker], cwd=tmp_path,
                               env={**os.environ, "PORT": str(port)})
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and (status is None or not marker.exists()):
            status = _get(f"http://127.0.0.1:{port}/")
            time.sleep(0.1)
        assert status == 200
        assert marker.read_text() == "working"
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _get(f"http://127.0.0.1:{port}/") is None


@pytest.mark.parametrize("code", [0, 3])
def test_the_launcher_exits_as_its_worker_does(tmp_path: Path, code: int) -> None:
    (tmp_path / "worker_launcher.py").write_text(launcher(1))
    done = subprocess.run([sys.executable, "worker_launcher.py", sys.executable, "-c",
                           f"raise SystemExit({code})"], cwd=tmp_path, timeout=60,
                          env={**os.environ, "PORT": str(_free_port())}, check=False)
    assert done.returncode == code
