"""`infrar run` on the local provider, as a user runs it: a real `infrar run` process serving a
project's http service over real HTTP, its schedule service run, a crashing worker restarted
with backoff, a code change restarting the http service, and Ctrl-C stopping everything with
no process left behind."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from emulators import free_port

from infrar.cli.main import cli
from infrar.cli.supervisor import backoff, next_run

INFRAR = Path(sys.executable).with_name("infrar")
WAIT = 60.0

CONFIG = """\
version: 1
project: shop
environments:
  dev:
    provider: local
services:
  web:
    kind: http
    entry: shop.web:app
    port: {port}
    health: /healthz
  mover:
    kind: schedule
    schedule: "0 3 * * *"
    entry: shop.jobs:move
  flaky:
    kind: worker
    command: [python, -m, shop.flaky]
"""

WEB = '''\
"""Stores what it receives, reads it back, and queues each stored key for the mover."""

import os

from infrar.queue import send
from infrar.storage import ObjectNotFoundError, read, write

VERSION = "{version}"


def app(environ, start_response):
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/healthz":
        if os.path.exists({sick!r}):
            return _answer(start_response, "503 Service Unavailable", b"sick")
        return _answer(start_response, "200 OK", VERSION.encode())
    key = path.removeprefix("/items/")
    if method == "POST":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        write("things", key, body)
        send("moves", key)
        return _answer(start_response, "201 Created", VERSION.encode() + b" stored " + body)
    try:
        return _answer(start_response, "200 OK", read("things", key))
    except ObjectNotFoundError:
        return _answer(start_response, "404 Not Found", b"nothing at " + key.encode())


def _answer(start_response, status, body):
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))])
    return [body]
'''

JOBS = '''\
from infrar.queue import ack, receive
from infrar.storage import read, write


def move():
    for message in receive("moves", max_messages=10):
        write("things", "moved/" + message.body, read("things", message.body))
        ack("moves", message)
        print("moved", message.body)
'''

FLAKY = '''\
import sys


def main():
    print("flaky gives up at once")
    sys.exit(3)


if __name__ == "__main__":
    main()
'''

STEADY = '''\
import time


def main():
    print("flaky is fine now", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
'''


def _project(root: Path, port: int) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / ".infrar.yaml").write_text(CONFIG.format(port=port))
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "web.py").write_text(WEB.format(version="v1", sick=str(root / "sick")))
    (root / "shop" / "jobs.py").write_text(JOBS)
    (root / "shop" / "flaky.py").write_text(FLAKY)
    return root


class Run:
    """`infrar run` as a child process; its output lines collected as they come."""

    def __init__(self, project: Path, *args: str) -> None:
        self.project = project
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAR_")}
        self.process = subprocess.Popen([str(INFRAR), "run", str(project), *args], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._new.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """The first line (seen so far or to come) matching `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if found := re.search(pattern, line):
                    return found
            try:
                self.lines.append(self._new.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} in:\n"
                                     + "\n".join(self.lines)) from None

    def pids(self) -> set[int]:
        return {int(m) for line in self.lines for m in re.findall(r"pid (\d+)", line)}

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it; the exit code."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=WAIT)
        self.wait_for(r"infrar \| stopped")
        return code

    def close(self) -> None:
        """After a failed test too: stop `infrar run` as a user would, else kill it and each
        service session it reported, so no test leaves a process behind."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=WAIT)
        while not self._new.empty():
            self.lines.append(self._new.get())
        for pid in _sessions_alive(self.pids()):
            with contextlib.suppress(OSError):  # only this project's processes
                if os.readlink(f"/proc/{pid}/cwd").startswith(str(self.project)):
                    os.kill(int(pid), signal.SIGKILL)


def _sessions_alive(leaders: set[int]) -> list[str]:
    """Processes still running in the sessions of `leaders` (each service process leads one)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session in leaders and state != "Z":
            alive.append(stat.parent.name)
    return alive


def _request(port: int, method: str, path: str, body: bytes | None = None
             ) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def _eventually(port: int, path: str, wanted: bytes) -> bytes:
    """GET `path` until its body holds `wanted` (bounded)."""
    deadline, body = time.monotonic() + WAIT, b""
    while time.monotonic() < deadline:
        try:
            _, body = _request(port, "GET", path)
        except OSError:
            body = b""
        if wanted in body:
            return body
        time.sleep(0.2)
    raise AssertionError(f"GET {path} never held {wanted!r}; last: {body!r}")


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.close()


def test_run_serves_stores_restarts_on_change_runs_the_schedule_and_stops_clean(
        tmp_path: Path, runs: list[Run]) -> None:
    port = free_port()
    project = _project(tmp_path / "shop", port)

    first = Run(project)
    runs.append(first)
    first.wait_for(r"local resources ready")
    first.wait_for(r"web: healthy \(GET /healthz\)")
    first.wait_for(r"mover: next run at \d{4}-\d\d-\d\d 03:00:00 UTC")
    assert _request(port, "POST", "/items/cat.jpg", b"a cat") == (201, b"v1 stored a cat")
    assert _request(port, "GET", "/items/cat.jpg") == (200, b"a cat")
    assert _request(port, "GET", "/items/dog.jpg") == (404, b"nothing at dog.jpg")
    stored = project / ".infrar" / "local"  # physical names: project-environment-name
    assert any(p.read_bytes() == b"a cat" for p in (stored / "shop-dev-things").iterdir())
    assert list((stored / ".infrar-queues" / "shop-dev-moves" / "ready").iterdir())
    first.wait_for(r"flaky  \| flaky gives up at once")  # its output, under its name
    first.wait_for(r"flaky: exited with code 3")
    first.wait_for(r"flaky: restarting in 1 s")
    first.wait_for(r"flaky: restarting in 2 s")  # backoff grows

    (project / "shop" / "web.py").write_text("from infrar.storage import read\ndef app(:\n")
    first.wait_for(r"shop/web\.py:\d+:\d+: error")
    first.wait_for(r"the services keep running the code they started with")
    assert _request(port, "GET", "/healthz") == (200, b"v1")
    (project / "shop" / "web.py").write_text(
        WEB.format(version="v2, changed", sick=str(project / "sick")))
    first.wait_for(r"code changed: shop/web\.py")
    first.wait_for(r"web: restarting for the new code")
    assert _eventually(port, "/healthz", b"v2") == b"v2, changed"
    assert _request(port, "POST", "/items/owl.jpg", b"an owl")[1] == b"v2, changed stored an owl"
    assert not any("flaky: restarting for the new code" in line for line in first.lines)
    first.wait_for(r"flaky: crashed 5 times in a row; not restarting it until its code changes")
    (project / "shop" / "flaky.py").write_text(STEADY)
    first.wait_for(r"code changed: shop/flaky\.py")
    first.wait_for(r"flaky  \| flaky is fine now")
    assert sum("web: restarting for the new code" in line for line in first.lines) == 1
    assert (project / ".infrar" / "run" / "local" / "infrar_native" / "storage.py").is_file()
    assert b"infrar_native" in (project / ".infrar/run/local/shop/web.py").read_bytes()

    assert first.interrupt() == 0
    assert first.pids() and _sessions_alive(first.pids()) == []
    with pytest.raises(OSError):
        _request(port, "GET", "/healthz")

    second = Run(project, "--service", "web", "--service", "mover",
                 "--trigger", "mover", "--trigger", "mover")
    runs.append(second)
    second.wait_for(r"local resources up to date")
    second.wait_for(r"mover: run started \(triggered, pid \d+\)")
    second.wait_for(r"mover: the previous run is still going; skipped the run triggered")
    second.wait_for(r"mover  \| moved cat\.jpg")
    second.wait_for(r"mover: run finished")
    assert _eventually(port, "/items/moved/owl.jpg", b"an owl") == b"an owl"
    assert _request(port, "GET", "/items/moved/cat.jpg") == (200, b"a cat")
    assert not any("flaky" in line for line in second.lines)
    assert second.interrupt() == 0
    assert _sessions_alive(second.pids()) == []


def test_health_is_reported_and_sigterm_stops_like_ctrl_c(tmp_path: Path, runs: list[Run]) -> None:
    port = free_port()
    project = _project(tmp_path / "shop", port)
    run = Run(project, "--service", "web")
    runs.append(run)
    run.wait_for(r"web: healthy")
    (project / "sick").write_text("")
    run.wait_for(r"web: unhealthy: GET /healthz answered 503")
    (project / "sick").unlink()
    run.wait_for(r"web: healthy again")
    run.process.terminate()
    assert run.process.wait(timeout=WAIT) == 0
    run.wait_for(r"infrar \| stopped")
    assert _sessions_alive(run.pids()) == []


def test_bad_configuration_is_reported_at_its_line(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / ".infrar.yaml").write_text(
        "version: 1\nservices:\n  web:\n    kind: http\n    entry: shop.web:app\n"
        "    port: 80000\n")
    done = CliRunner().invoke(cli, ["run", str(project)])
    assert done.exit_code == 2
    assert f"{project / '.infrar.yaml'}:6:" in done.output


@pytest.mark.parametrize(("args", "message"), [
    (["--service", "nope"], "no service 'nope'"),
    (["--trigger", "web"], "'web' is a http service; --trigger runs schedule services"),
])
def test_unknown_or_wrong_service_is_refused(tmp_path: Path, args: list[str],
                                             message: str) -> None:
    project = _project(tmp_path / "shop", free_port())
    done = CliRunner().invoke(cli, ["run", str(project), *args])
    assert done.exit_code == 2
    assert message in done.output


def test_a_project_without_services_has_nothing_to_run(tmp_path: Path) -> None:
    (tmp_path / ".infrar.yaml").write_text("version: 1\n")
    done = CliRunner().invoke(cli, ["run", str(tmp_path)])
    assert done.exit_code == 2
    assert "no `services:` to run" in done.output


def test_schedules_follow_their_cron_in_utc() -> None:
    after = datetime(2026, 1, 31, 23, 59, 30, tzinfo=timezone.utc)
    assert next_run("* * * * *", after) == datetime(2026, 2, 1, 0, 0, tzinfo=timezone.utc)
    assert next_run("0 3 * * 1", after) == datetime(2026, 2, 2, 3, 0, tzinfo=timezone.utc)


def test_restarts_back_off_up_to_a_bound() -> None:
    assert [backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_port_already_taken_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        project = _project(tmp_path / "shop", other.getsockname()[1])
        done = subprocess.run([str(INFRAR), "run", str(project)], capture_output=True,
                              text=True, timeout=WAIT, check=False)
    assert done.returncode == 1
    assert "another program listens on the port of web" in done.stderr
    assert "started" not in done.stderr


def test_an_asgi_service_without_uvicorn_is_refused(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # not importable, whatever is installed
    project = _project(tmp_path / "shop", free_port())
    config = project / ".infrar.yaml"
    config.write_text(config.read_text().replace("    health: /healthz\n",
                                                 "    health: /healthz\n    interface: asgi\n"))
    done = CliRunner().invoke(cli, ["run", str(project)])
    assert done.exit_code == 1
    assert "service 'web' is an asgi application, served with uvicorn, which is not " \
           "installed: pip install uvicorn" in done.output
    assert not (project / ".infrar").exists()  # refused before anything was built


def test_a_schedule_runs_on_its_cron_without_being_triggered(tmp_path: Path,
                                                             runs: list[Run]) -> None:
    """The shortest cron there is, every minute: the run starts by itself at the next minute
    (so this waits up to a minute) and does its work."""
    port = free_port()
    project = _project(tmp_path / "shop", port)
    config = project / ".infrar.yaml"
    config.write_text(config.read_text().replace('"0 3 * * *"', '"* * * * *"'))
    run = Run(project, "--service", "web", "--service", "mover")
    runs.append(run)
    run.wait_for(r"web: healthy")
    assert _request(port, "POST", "/items/fox.jpg", b"a fox")[0] == 201
    planned = run.wait_for(r"mover: next run at (\d{4}-\d\d-\d\d \d\d:\d\d):00 UTC").group(1)
    started = run.wait_for(r"mover: run started \(scheduled for ([^,)]+)", timeout=WAIT + 20)
    assert started.group(1).startswith(planned), started.group(0)
    run.wait_for(r"mover  \| moved fox\.jpg")
    assert _eventually(port, "/items/moved/fox.jpg", b"a fox") == b"a fox"
    assert run.interrupt() == 0
    assert _sessions_alive(run.pids()) == []
