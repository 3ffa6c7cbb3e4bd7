"""The deploy's order and what reaches Terraform, with real Terraform (the packaged 1.0.3 and
the null provider, offline), real buildah and a registry fake on loopback.

The Terraform here stands in for a cloud's generated root module: it has the same contract
(`<service>_image`, empty before the first push; the outputs `services_image_repositories`,
which exists only once the reviewed plan is applied, and `services_urls`), and records the
image it was given in a null_resource of its `compute` module, as the cloud's service would
run it.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from image_support import wheel_of_installed
from registry_fake import FakeRegistry
from shop_project import shop_build

from infrar.engine.buildah import Buildah, RegistryCredentials
from infrar.engine.deploy import IMAGES_FILE, DeployError, Deployment, deploy, terraform_outputs
from infrar.engine.infra.runs import PLAN_FILE
from infrar.engine.terraform import apply, init, offline_environment, plan, show_json

PASSWORD = "registry-token-51c2"

MAIN_TF = """\
terraform {{
  required_providers {{
    null = {{
      source  = "hashicorp/null"
      version = "2.1.2"
    }}
  }}
}}

variable "api_image" {{
  type    = string
  default = ""
}}

resource "null_resource" "repository" {{
  triggers = {{
    url = "{registry}/shop/api"
  }}
}}

module "compute" {{
  source = "./compute"
  image  = var.api_image
}}
{extra}
output "services_image_repositories" {{
  value = {{ api = null_resource.repository.triggers.url }}
}}

output "services_urls" {{
  value = {{ for image in module.compute.running : "api" => "{service_url}" }}
}}
"""

COMPUTE_TF = """\
variable "image" {
  type = string
}

resource "null_resource" "api" {
  count = var.image == "" ? 0 : 1
  triggers = {
    image = var.image
  }
}

output "running" {
  value = [for r in null_resource.api : r.triggers.image]
}
"""

OUTSIDE_TF = """
resource "null_resource" "outside" {
  triggers = {
    image = var.api_image
  }
}
"""


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lines: list[str] = []

    def start(self, step: str) -> None:
        self.events.append(("start", step))

    def line(self, step: str, text: str) -> None:
        self.lines.append(text)

    def finish(self, step: str, *, ok: bool, seconds: float, detail: str = "") -> None:
        self.events.append(("ok" if ok else "failed", step))


class HealthServer:
    def __init__(self, status: int) -> None:
        self.paths: list[str] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                recorder.paths.append(self.path)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry(username="AWS", password=PASSWORD).start()
    yield fake
    fake.stop()


def _reviewed(workdir: Path, env: dict[str, str], registry: FakeRegistry,
              service_url: str, extra: str = "") -> None:
    """What `infrar plan` leaves: the configuration and a saved, reviewed plan."""
    (workdir / "compute").mkdir(parents=True)
    (workdir / "compute" / "main.tf").write_text(COMPUTE_TF)
    (workdir / "main.tf").write_text(MAIN_TF.format(registry=registry.host,
                                                    service_url=service_url, extra=extra))
    init(workdir, env=env)
    plan(workdir, plan_file=workdir / PLAN_FILE, env=env)


def _deployment(tmp_path: Path, buildah: Buildah, base_image: str,
                env: dict[str, str]) -> Deployment:
    config, build = shop_build(tmp_path / "project", "local")
    wheels = tmp_path / "wheels"
    wheel_of_installed("waitress", wheels)
    return Deployment(
        workdir=tmp_path / "terraform", env=env, build=build, services=config.services,
        environment="staging", buildah=buildah,
        login=lambda host: RegistryCredentials("AWS", PASSWORD), base_image=base_image,
        images_dir=tmp_path / "images", secrets=(PASSWORD,), offline_wheels=wheels,
        health_attempts=2, health_interval_s=0.1)


def test_deploy_applies_builds_pushes_applies_the_digest_and_checks_health(
        tmp_path: Path, buildah: Buildah, base_image: str, registry: FakeRegistry) -> None:
    env = offline_environment(tmp_path / "tf-cache")
    health = HealthServer(200)
    try:
        deployment = _deployment(tmp_path, buildah, base_image, env)
        _reviewed(deployment.workdir, env, registry, health.url)
        progress = Recorder()
        report = deploy(deployment, progress=progress, apply_reviewed=lambda on_line: apply(
            deployment.workdir, plan_file=deployment.workdir / PLAN_FILE, env=env,
            on_output=on_line).output)
    finally:
        health.stop()

    steps = ["apply infrastructure", "build api", "push api", "apply images", "health api"]
    assert progress.events == [e for s in steps for e in (("start", s), ("ok", s))]
    assert [s.name for s in report.steps] == steps and report.ok
    # The digest Terraform deployed is the manifest the registry holds under the pushed tag.
    reference = report.images["api"]
    repository, digest = reference.split("@")
    assert repository == f"{registry.host}/shop/api"
    assert digest in {registry.digest_of("shop/api", tag) for _, tag in registry.stored.tags}
    state = show_json(deployment.workdir / "terraform.tfstate", workdir=deployment.workdir,
                      env=env)
    assert _running(state) == [reference]
    assert json.loads((deployment.workdir / IMAGES_FILE).read_text()) == {"api_image": reference}
    assert health.paths == ["/healthz"]
    assert terraform_outputs(deployment.workdir, env=env)["services_urls"] == {"api": health.url}
    assert any("Apply complete" in line for line in progress.lines)
    assert PASSWORD not in "\n".join(progress.lines)


def test_an_unhealthy_service_fails_the_deploy_after_its_image_is_applied(
        tmp_path: Path, buildah: Buildah, base_image: str, registry: FakeRegistry) -> None:
    env = offline_environment(tmp_path / "tf-cache")
    health = HealthServer(503)
    try:
        deployment = _deployment(tmp_path, buildah, base_image, env)
        _reviewed(deployment.workdir, env, registry, health.url)
        progress = Recorder()
        with pytest.raises(DeployError) as raised:
            deploy(deployment, progress=progress, apply_reviewed=lambda on_line: apply(
                deployment.workdir, plan_file=deployment.workdir / PLAN_FILE, env=env).output)
    finally:
        health.stop()
    report = raised.value.report
    assert "unhealthy after the deploy: api" in str(raised.value)
    assert [(h.service, h.ok, h.detail) for h in report.health] == [("api", False, "HTTP 503")]
    assert progress.events[-1] == ("failed", "health api")
    assert health.paths == ["/healthz", "/healthz"]
    assert "FAILED" in report.text()


def test_without_the_repository_output_nothing_is_built(
        tmp_path: Path, buildah: Buildah, base_image: str, registry: FakeRegistry) -> None:
    env = offline_environment(tmp_path / "tf-cache")
    deployment = _deployment(tmp_path, buildah, base_image, env)
    _reviewed(deployment.workdir, env, registry, "http://127.0.0.1:9")
    progress = Recorder()  # the reviewed plan is not applied: Terraform has no outputs yet
    with pytest.raises(DeployError) as raised:
        deploy(deployment, progress=progress, apply_reviewed=lambda on_line: "")
    assert "names no repository for service 'api'" in str(raised.value)
    assert ("start", "build api") not in progress.events


def test_an_image_apply_that_would_change_more_than_the_services_is_refused(
        tmp_path: Path, buildah: Buildah, base_image: str, registry: FakeRegistry) -> None:
    env = offline_environment(tmp_path / "tf-cache")
    deployment = _deployment(tmp_path, buildah, base_image, env)
    _reviewed(deployment.workdir, env, registry, "http://127.0.0.1:9", extra=OUTSIDE_TF)
    progress = Recorder()
    with pytest.raises(DeployError) as raised:
        deploy(deployment, progress=progress, apply_reviewed=lambda on_line: apply(
            deployment.workdir, plan_file=deployment.workdir / PLAN_FILE, env=env).output)
    assert "null_resource.outside (replace)" in str(raised.value)
    assert "run `infrar plan` again" in str(raised.value)
    assert progress.events[-1] == ("failed", "apply images")
    state = show_json(deployment.workdir / "terraform.tfstate", workdir=deployment.workdir,
                      env=env)
    assert _running(state) == []


def _running(state: dict[str, Any]) -> list[str]:
    """The images the stand-in compute module runs, from Terraform's state."""
    modules = state["values"]["root_module"].get("child_modules", [])
    return [r["values"]["triggers"]["image"] for m in modules for r in m.get("resources", [])
            if r["address"] == "module.compute.null_resource.api[0]"]
