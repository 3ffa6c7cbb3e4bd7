"""A service's image, built with buildah on a base made from Debian packages: the transformed
tree and its server inside, no `infrar`, a non-root user, the environment and a health check;
then the image's own Python serves the service and its health check passes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from shop_project import api_service, service_context, write_project

from infrar.engine.buildah import Buildah, BuiltImage, inspect
from infrar.engine.images import APP_UID, ImageContext, healthcheck


@pytest.fixture
def container(buildah: Buildah, local_image: tuple[ImageContext, BuiltImage]) -> Iterator[str]:
    name = buildah.run("from", "--quiet", local_image[1].image_id).strip().splitlines()[-1]
    yield name
    buildah.run("rm", name)


def test_the_containerfile_reads_as_written_by_hand(tmp_path: Path) -> None:
    context = service_context(tmp_path, "local", "dev")
    text = context.containerfile
    assert text.splitlines()[2].startswith("ARG BASE_IMAGE=")
    assert "FROM ${BASE_IMAGE}" in text
    assert "USER 10001:10001" in text
    assert "EXPOSE 8080" in text
    assert "HEALTHCHECK " in text and "urllib.request.urlopen" in text
    assert 'CMD ["python", "-m", "waitress", "--listen=0.0.0.0:8080", "shop.web:app"]' in text
    assert "ENV INFRAR_ENVIRONMENT=${INFRAR_ENVIRONMENT}" in text
    # Requirements before code: a change of code alone reuses the installed layer.
    assert text.index("pip install") < text.index("COPY app/")
    assert context.files["requirements.txt"] == b"waitress==3.0.2\n"
    assert b"__pycache__" in context.files[".containerignore"]
    assert "infrar" not in {path.split("/")[1] for path in context.files if "/" in path}


def test_the_image_holds_the_transformed_tree_and_no_infrar(
        buildah: Buildah, local_image: tuple[ImageContext, BuiltImage], container: str) -> None:
    context, _ = local_image
    mount = Path(buildah.run("mount", container).strip())
    try:
        web = (mount / "app" / "shop" / "web.py").read_text()
        assert "from infrar_native.storage import" in web
        assert (mount / "app" / "infrar_native" / "storage.py").is_file()
        assert web.encode() == context.files["app/shop/web.py"]
        assert not list(mount.glob("opt/venv/lib/python3*/site-packages/infrar"))
        assert list(mount.glob("opt/venv/lib/python3*/site-packages/waitress"))
        assert not list(mount.glob("tmp/wheels/*"))  # mounted for the install only
        assert (mount / "app" / "shop" / "web.py").stat().st_uid == 0
    finally:
        buildah.run("umount", container)


def test_the_image_config_sets_user_environment_health_and_command(
        buildah: Buildah, local_image: tuple[ImageContext, BuiltImage]) -> None:
    config = inspect(buildah, local_image[1].image_id)["Docker"]["config"]
    assert config["User"] == f"{APP_UID}:{APP_UID}"
    assert "INFRAR_ENVIRONMENT=staging" in config["Env"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert "http://127.0.0.1:8080/healthz" in " ".join(config["Healthcheck"]["Test"])
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Cmd"] == ["python", "-m", "waitress", "--listen=0.0.0.0:8080", "shop.web:app"]
    assert config["WorkingDir"] == "/app"


def test_the_images_python_runs_the_service_without_infrar(buildah: Buildah,
                                                           container: str) -> None:
    probe = ("import importlib.util as u, json; "
             "import shop.web; "
             "print(json.dumps([u.find_spec('infrar') is None, shop.web.read.__module__]))")
    run = ("run", "--isolation", "chroot", container, "--", "python", "-c")
    out = buildah.run(*run, probe).strip().splitlines()[-1]
    assert json.loads(out) == [True, "infrar_native.storage"]
    whoami = buildah.run(*run, "import os; print(os.getuid(), os.getgid())")
    assert whoami.strip().splitlines()[-1] == f"{APP_UID} {APP_UID}"


def test_the_image_serves_requests_and_its_health_check_passes(buildah: Buildah, container: str,
                                                              tmp_path: Path) -> None:
    # chroot isolation shares the host's network: the service listens on a loopback port.
    port = _free_port()
    run = ("run", "--isolation", "chroot", "--env", "INFRAR_LOCAL_ROOT=/tmp/objects")
    make_bucket = ("import os; from infrar_native.resources import physical_name; "
                   "os.makedirs('/tmp/objects/' + physical_name('bucket', 'uploads'))")
    buildah.run(*run, container, "--", "python", "-c", make_bucket)
    argv = buildah.argv(*run, container, "--", "python", "-m", "waitress",
                        f"--listen=127.0.0.1:{port}", "shop.web:app")
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", server)
        put = urllib.request.Request(f"{base}/note.txt", data=b"kept", method="PUT")
        assert urllib.request.urlopen(put, timeout=10).status == 201
        assert urllib.request.urlopen(f"{base}/note.txt", timeout=10).read() == b"kept"
        write_project(tmp_path)
        service = dataclasses.replace(api_service(tmp_path), port=port)
        probe = healthcheck(service)
        buildah.run(*run, container, "--", *probe)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read().decode() if server.stdout else ""
            raise AssertionError(f"the service stopped: {output}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")
