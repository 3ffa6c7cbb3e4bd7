"""The project the image tests build: `shop`, one http service (`api`, WSGI) that stores what
it is sent with infrar.storage, in two environments of the `local` provider."""

from __future__ import annotations

from pathlib import Path

from infrar.engine.config import ProjectConfig, ServiceConfig, load_config
from infrar.engine.images import ImageContext, image_context
from infrar.engine.pipeline import Build, deployment_targets, run_pipeline

CONFIG = """\
version: 1
project: shop
environments:
  dev: {provider: local}
  staging: {provider: local}
services:
  api:
    kind: http
    entry: shop.web:app
    port: 8080
    health: /healthz
"""

WEB = '''\
"""Stores what it is sent, and gives it back."""
from infrar.storage import ObjectNotFoundError, read, write


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/healthz":
        return _reply(start_response, "200 OK", b"ok")
    key = path.strip("/") or "index"
    if environ["REQUEST_METHOD"] == "PUT":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        write("uploads", key, environ["wsgi.input"].read(size))
        return _reply(start_response, "201 Created", b"stored")
    try:
        return _reply(start_response, "200 OK", read("uploads", key))
    except ObjectNotFoundError:
        return _reply(start_response, "404 Not Found", b"missing")


def _reply(start_response, status, body):
    start_response(status, [("Content-Type", "application/octet-stream")])
    return [body]
'''


def write_project(root: Path) -> Path:
    """The project's files under `root`; returns its .infrar.yaml."""
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "web.py").write_text(WEB)
    (root / ".infrar.yaml").write_text(CONFIG)
    return root / ".infrar.yaml"


def api_service(root: Path) -> ServiceConfig:
    return load_config(root / ".infrar.yaml").services["api"]


def shop_build(root: Path, provider: str) -> tuple[ProjectConfig, Build]:
    """The project written under `root`, and its tree transformed for `provider`."""
    config = load_config(write_project(root))
    result = run_pipeline([root], config=config,
                          targets=deployment_targets(config, provider=provider))
    assert result.ok, result.diagnostics
    return config, result.builds[provider]


def service_context(root: Path, provider: str, environment: str) -> ImageContext:
    """The image context of `api`, transformed for `provider`, installing from wheels."""
    config, build = shop_build(root, provider)
    return image_context(build, config.services["api"], base_image="localhost/unused",
                         environment=environment, offline_wheels=True)
