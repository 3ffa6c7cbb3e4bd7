"""Deploy a project's services: the reviewed infrastructure first (it creates each service's
registry repository), then each service's image built and pushed by digest, then Terraform
again with every `<service>_image` set to its pushed digest, then a health check of each http
service at its address.

Every step reports to a `Progress` (start, output lines, finish with its time); nothing here
prints. Terraform's outputs name where images go (`services_image_repositories`) and where
http services answer (`services_urls`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from secrets import token_hex
from typing import Any, Protocol

from infrar.engine.buildah import Buildah, RegistryCredentials, build, find_buildah, push
from infrar.engine.config import ServiceConfig, Target
from infrar.engine.diagnostics import EngineError
from infrar.engine.images import (
    DEFAULT_BASE_IMAGE,
    ImageContext,
    image_context,
    worker_listen_port,
    write_context,
)
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.compute import MODULE, image_variable
from infrar.engine.infra.generate import Generation
from infrar.engine.pipeline import Build, run_pipeline
from infrar.engine.registry_auth import registry_login
from infrar.engine.services import project_roots
from infrar.engine.terraform import apply as terraform_apply
from infrar.engine.terraform import find_binary, show_json, summarize_plan
from infrar.engine.terraform import plan as terraform_plan
from infrar.engine.terraform.redaction import redact
from infrar.engine.terraform.runner import digest_path

REPOSITORIES_OUTPUT = "services_image_repositories"
URLS_OUTPUT = "services_urls"
IMAGES_FILE = "infrar-images.auto.tfvars.json"
"""The deployed digests, beside the Terraform: later plans keep the images running."""
DEPLOY_PLAN = "infrar-images.tfplan"
IMAGES_STEP = "apply images"
"""The step after which the services run the pushed images."""
COMPUTE_PREFIX = f"module.{MODULE}."
"""Where the services' resources are: the images' apply may change nothing else."""
IMAGES_ROOT = Path(".infrar") / "images"
"""Each service's build context, per environment, under the project."""
HEALTH_ATTEMPTS = 30
HEALTH_INTERVAL_S = 5.0
HEALTH_TIMEOUT_S = 10.0

LineCallback = Callable[[str], None]
Login = Callable[[str], "RegistryCredentials | None"]
"""Registry host -> credentials for it (None: none needed)."""


class Progress(Protocol):
    """Where a deploy reports its steps as they run."""

    def start(self, step: str) -> None: ...

    def line(self, step: str, text: str) -> None: ...

    def finish(self, step: str, *, ok: bool, seconds: float, detail: str = "") -> None: ...


class NoProgress:
    def start(self, step: str) -> None:
        pass

    def line(self, step: str, text: str) -> None:
        pass

    def finish(self, step: str, *, ok: bool, seconds: float, detail: str = "") -> None:
        pass


class DeployError(EngineError):
    """A step failed; `report` holds what was done before it."""

    def __init__(self, message: str, report: DeployReport) -> None:
        self.report = report
        super().__init__(message)


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class Health:
    service: str
    url: str
    ok: bool
    detail: str


@dataclass
class DeployReport:
    steps: list[StepResult] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)
    """Service -> the reference by digest Terraform deployed."""
    health: list[Health] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and all(h.ok for h in self.health)

    def text(self) -> str:
        lines = [f"{'ok' if s.ok else 'FAILED':6} {s.name} ({s.seconds:.1f}s)"
                 + (f": {s.detail}" if s.detail else "") for s in self.steps]
        lines += [f"image  {name}: {ref}" for name, ref in sorted(self.images.items())]
        lines += [f"health {h.service}: {'ok' if h.ok else 'FAILED'} {h.url} ({h.detail})"
                  for h in self.health]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Deployment:
    """What one deploy needs: the Terraform folder and its environment, the transformed tree,
    the services and how to build and push their images."""

    workdir: Path
    env: Mapping[str, str]
    build: Build
    services: Mapping[str, ServiceConfig]
    environment: str
    buildah: Buildah
    login: Login
    base_image: str
    images_dir: Path
    secrets: tuple[str, ...] = ()
    offline_wheels: Path | None = None
    """A folder of wheels to install from, with no package index."""
    health_attempts: int = HEALTH_ATTEMPTS
    health_interval_s: float = HEALTH_INTERVAL_S
    worker_port: int | None = None
    """Where the provider needs workers to listen (None: they need not listen)."""


def deploy(deployment: Deployment, *, apply_reviewed: Callable[[LineCallback], str],
           progress: Progress | None = None) -> DeployReport:
    """Run every step in order; raises DeployError at the first that fails, after reporting
    it. `apply_reviewed` applies the reviewed plan (the infrastructure and the repositories)."""
    run = _Run(deployment, progress or NoProgress())
    with run.step("apply infrastructure") as on_line:
        apply_reviewed(on_line)
    repositories = run.outputs().get(REPOSITORIES_OUTPUT, {})
    tag = _tag(deployment.environment)
    for name, service in sorted(deployment.services.items()):
        repository = repositories.get(name)
        if not repository:
            run.fail(f"Terraform output {REPOSITORIES_OUTPUT} names no repository for "
                     f"service {name!r}")
        run.image(name, service, repository, tag)
    with run.step(IMAGES_STEP) as on_line:
        run.apply_images(on_line)
    urls = run.outputs().get(URLS_OUTPUT, {})
    for name, service in sorted(deployment.services.items()):
        if service.kind == "http" and name in urls:
            run.check_health(name, urls[name] + service.health)
    if not run.report.ok:
        failed = [h.service for h in run.report.health if not h.ok]
        raise DeployError(f"unhealthy after the deploy: {', '.join(failed)}", run.report)
    return run.report


class _Run:
    def __init__(self, deployment: Deployment, progress: Progress) -> None:
        self.deployment = deployment
        self.progress = progress
        self.report = DeployReport()

    @contextmanager
    def step(self, name: str) -> Iterator[LineCallback]:
        self.progress.start(name)
        started = time.monotonic()

        def on_line(text: str) -> None:
            self.progress.line(name, redact(text, self.deployment.secrets))

        try:
            yield on_line
        except Exception as exc:
            self._finished(name, False, started, _first_line(exc))
            if isinstance(exc, DeployError):
                raise
            raise DeployError(f"{name}: {exc}", self.report) from exc
        self._finished(name, True, started)

    def _finished(self, name: str, ok: bool, started: float, detail: str = "") -> None:
        seconds = time.monotonic() - started
        detail = redact(detail, self.deployment.secrets)
        self.report.steps.append(StepResult(name, ok, seconds, detail))
        self.progress.finish(name, ok=ok, seconds=seconds, detail=detail)

    def fail(self, message: str) -> None:
        raise DeployError(message, self.report)

    def image(self, name: str, service: ServiceConfig, repository: str, tag: str) -> None:
        d = self.deployment
        context = image_context(d.build, service, base_image=d.base_image,
                                environment=d.environment,
                                offline_wheels=d.offline_wheels is not None,
                                worker_port=d.worker_port)
        folder = _fresh_context(context, d.images_dir / name, d.offline_wheels)
        with self.step(f"build {name}") as on_line:
            built = build(d.buildah, folder, name=f"localhost/infrar/{name}:{tag}",
                          build_args={"INFRAR_ENVIRONMENT": d.environment},
                          on_line=on_line)
        with self.step(f"push {name}") as on_line:
            credentials = d.login(repository.split("/", 1)[0])
            self.report.images[name] = push(d.buildah, built.image_id, repository, tag=tag,
                                            credentials=credentials, on_line=on_line)

    def apply_images(self, on_line: LineCallback) -> None:
        d = self.deployment
        variables = {image_variable(name): ref for name, ref in sorted(self.report.images.items())}
        (d.workdir / IMAGES_FILE).write_text(json.dumps(variables, indent=2) + "\n",
                                             encoding="utf-8")
        plan_file = d.workdir / DEPLOY_PLAN
        terraform_plan(d.workdir, plan_file=plan_file, env=d.env, secrets=d.secrets,
                       on_output=on_line)
        outside = _outside_compute(show_json(plan_file, workdir=d.workdir, env=d.env))
        if outside:
            plan_file.unlink(missing_ok=True)
            digest_path(plan_file).unlink(missing_ok=True)
            raise DeployError(
                "setting the images would also change what the reviewed plan did not: "
                f"{', '.join(outside)}; run `infrar plan` again and review it", self.report)
        terraform_apply(d.workdir, plan_file=plan_file, env=d.env, secrets=d.secrets,
                        on_output=on_line)
        plan_file.unlink(missing_ok=True)
        digest_path(plan_file).unlink(missing_ok=True)

    def outputs(self) -> dict[str, Any]:
        return terraform_outputs(self.deployment.workdir, env=self.deployment.env)

    def check_health(self, name: str, url: str) -> None:
        """A failed probe fails its step but not the others: every service gets checked."""
        d = self.deployment
        step = f"health {name}"
        self.progress.start(step)
        started = time.monotonic()
        ok, detail = _probe(url, attempts=d.health_attempts, interval=d.health_interval_s,
                            on_line=lambda text: self.progress.line(step, text))
        self._finished(step, ok, started, f"{url}: {detail}")
        self.report.health.append(Health(name, url, ok, detail))


def runs_services(generation: Generation) -> bool:
    """Whether applying `generation` deploys services: it has some, on a cloud (the `local`
    provider runs them with `infrar run` instead)."""
    return bool(generation.services) and generation.target.provider != "local"


def deployment_for(target: Target, *, workdir: Path, env: Mapping[str, str],
                   secrets: tuple[str, ...] = (), base_image: str = DEFAULT_BASE_IMAGE,
                   environ: Mapping[str, str] | None = None) -> Deployment:
    """The deployment of `target`'s services: their tree transformed for its provider, built
    with the buildah on PATH, pushed with the provider's registry login."""
    config = target.config
    result = run_pipeline(project_roots(config), config=config,
                          targets={target.environment: target})
    if not result.ok:
        raise EngineError("\n".join(str(d) for d in result.errors))

    def login(host: str) -> RegistryCredentials | None:
        return registry_login(target.provider, host, region=target.region)

    return Deployment(
        workdir=workdir, env=env, build=result.builds[target.provider],
        services=config.services, environment=target.environment,
        buildah=Buildah(find_buildah(environ)), login=login, base_image=base_image,
        images_dir=config.root / IMAGES_ROOT / target.environment, secrets=secrets,
        worker_port=worker_listen_port(load_plugin(target.provider).compute))


def terraform_outputs(workdir: Path, *, env: Mapping[str, str]) -> dict[str, Any]:
    """The root module's outputs, name -> value (`terraform output -json`)."""
    run_env = {**os.environ, **env, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    binary = find_binary(env=run_env)
    done = subprocess.run([str(binary), "output", "-json", "-no-color"], cwd=workdir,
                          env=run_env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise EngineError(f"terraform output failed: {done.stderr.strip()[-2000:]}")
    document: dict[str, Any] = json.loads(done.stdout or "{}")
    return {name: item.get("value") for name, item in document.items()}


def _outside_compute(shown: dict[str, Any]) -> list[str]:
    """Changes of this plan outside the compute module: the images are all it may change."""
    summary = summarize_plan(shown)
    return [f"{r.address} ({r.action})" for r in summary.resources
            if not r.address.startswith(COMPUTE_PREFIX)]


def _probe(url: str, *, attempts: int, interval: float,
           on_line: LineCallback) -> tuple[bool, str]:
    """The first success of up to `attempts` GETs: a new service can take a while to answer."""
    detail = ""
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT_S) as response:
                return True, f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            detail = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            detail = str(getattr(exc, "reason", exc))
        on_line(f"attempt {attempt}: {detail}")
        if attempt < attempts:
            time.sleep(interval)
    return False, detail


def _fresh_context(context: ImageContext, folder: Path, wheels: Path | None) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    write_context(context, folder)
    if wheels is not None:
        shutil.copytree(wheels, folder / "wheels")
    return folder


def _tag(environment: str) -> str:
    """Unique per deploy: repositories may keep tags immutable (ECR here does)."""
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", environment)[:80]
    return f"{name}-{now}-{token_hex(4)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
