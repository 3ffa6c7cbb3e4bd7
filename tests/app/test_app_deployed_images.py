"""After a deploy, the App's next plan of the environment keeps the images the services run:
the planned Terraform holds their references in `infrar-images.auto.tfvars.json`, as
`infrar apply` keeps them for `infrar plan`, only for the services still declared, and the
review's services table names each deployed digest. Run as a worker runs a delivery (the
router, in this process) against the GitHub fake, with real git, real Terraform and real
SQLite. This module is also the tests' generator (INFRAR_GENERATOR): for aws it writes
Terraform with each service's `<service>_image` variable and a null resource that takes it,
since the aws provider cannot be installed here."""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import payloads
import pytest
from fake_github import FakeGitHub
from test_app_services_review import CODE, FILES

from infrar.app.runtime import Runtime
from infrar.app.settings import Settings
from infrar.app.state import images, plans
from infrar.app.state.db import Database
from infrar.app.state.deliveries import Job
from infrar.app.state.models import Plan
from infrar.app.workflow import apply_run, engine_generator
from infrar.app.workflow.generation import Generated
from infrar.app.workflow.router import Context
from infrar.app.workflow.routes import ROUTER
from infrar.engine.config import Target
from infrar.engine.deploy import IMAGES_FILE, DeployReport, Health, StepResult
from infrar.engine.infra.compute import rights_from_code, services_review
from infrar.engine.terraform import find_binary

REPO = "acme/photos"
CONFIG = """\
version: 1
project: photos
policy:
  checkov: false
environments:
  production:
    provider: aws
services:
  api:
    kind: http
    entry: photos.web:app
    health: /healthz
  nightly:
    kind: schedule
    command: [python, -m, photos.jobs.prune]
    schedule: "30 2 * * *"
"""
API = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/photos-api@sha256:" + "a" * 64
LEGACY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/photos-legacy@sha256:" + "b" * 64
BUILT = "built at apply from the aws tree, deployed by digest"

Deliver = Callable[[str, dict[str, Any]], Runtime]


def generate(*, source_root: Path, target: Target, out_dir: Path, cache_root: Path) -> Generated:
    """Stands in for the aws Terraform: each service's image variable, as the engine declares
    it, feeding a null resource; the services table is the engine's own."""
    out_dir.mkdir(parents=True, exist_ok=True)
    blocks = []
    for name in sorted(target.config.services):
        blocks.append(f'variable "{name}_image" {{\n  type    = string\n  default = ""\n}}\n\n'
                      f'resource "null_resource" "{name}" {{\n'
                      f'  triggers = {{ image = var.{name}_image }}\n}}\n')
    (out_dir / "main.tf").write_text("\n".join(blocks), encoding="utf-8")
    paths = [source_root / p for p in target.config.paths] or [source_root]
    services = services_review(rights_from_code(paths, target), provider=target.provider,
                               deployed=True)
    return Generated(terraform_env=terraform_env(provider=target.provider,
                                                 cache_root=cache_root), services=services)


def terraform_env(*, provider: str, cache_root: Path) -> dict[str, str]:
    return engine_generator.terraform_env(provider="local", cache_root=cache_root)


@pytest.fixture
def deliver(fake: FakeGitHub, app_env: dict[str, str],
            monkeypatch: pytest.MonkeyPatch) -> Deliver:
    for name, value in {**app_env, "INFRAR_GENERATOR": __name__}.items():
        monkeypatch.setenv(name, value)
    runtime = Runtime.from_settings(Settings.from_env(os.environ))
    ids = itertools.count(1)

    def run(event: str, payload: dict[str, Any]) -> Runtime:
        job = Job(f"delivery-{next(ids)}", event, payload.get("action"), None, payload, 1)
        assert ROUTER.dispatch(Context(runtime, job), event, job.action, payload, job) == 1
        return runtime

    return run


def _files(archive: bytes) -> dict[str, bytes]:
    found = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member) if member.isfile() else None
            if data is not None:
                found[member.name] = data.read()
    return found


def _planned_inputs(archive: bytes, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    """What the saved plan gives each service's resource: Terraform's own reading of it."""
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")
    run_env = {**os.environ, **env}
    binary = str(find_binary(env=run_env))
    subprocess.run([binary, "init", "-input=false", "-no-color"], cwd=folder, env=run_env,
                   check=True, capture_output=True)
    shown = json.loads(subprocess.run([binary, "show", "-json", "infrar.tfplan"], cwd=folder,
                                      env=run_env, check=True, capture_output=True,
                                      text=True).stdout)
    return {change["name"]: change["change"]["after"]["triggers"]["image"]
            for change in shown["resource_changes"]}


def _services_rows(review: str) -> dict[str, str]:
    section = review[review.index("#### Services"):]
    return {line.split(" | ")[0][2:]: line for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| Service") and "---" not in line}


def test_the_next_plan_keeps_the_deployed_images_of_the_services_still_declared(
        fake: FakeGitHub, deliver: Deliver, app_env: dict[str, str], tmp_path: Path) -> None:
    fake.create_repo(REPO, {".infrar.yaml": CONFIG, **FILES, **CODE})
    runtime = Runtime.from_settings(Settings.from_env(os.environ | app_env))
    runtime.db.create_schema()
    # The last deploy ran api and a service the configuration no longer has.
    images.record(runtime.db, repo=REPO, project="", environment="production",
                  images={"api": API, "legacy": LEGACY})
    pull = fake.open_pull(REPO, "services", {"README.md": "# photos, again\n"})
    runtime = deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    plan = plans.latest(runtime.db, repo=REPO, pr=pull.number, environment="production")
    assert plan is not None, fake.bot_reviews(REPO, pull.number)[-1]["body"]
    archive = plans.archive_of(runtime.vault, plan)
    kept = json.loads(_files(archive)[IMAGES_FILE])
    assert kept == {"api_image": API}  # nightly never deployed; legacy no longer declared
    # What the App deployed is given to the plan, never committed to the bot branch.
    committed = fake.git.files(REPO, f"refs/heads/infrar/pr-{pull.number}")
    assert ".infrar/terraform/production/main.tf" in committed
    assert not any(path.endswith(IMAGES_FILE) for path in committed)
    inputs = _planned_inputs(archive, tmp_path / "planned",
                             terraform_env(provider="aws", cache_root=runtime.settings.data_dir))
    assert inputs == {"api": API, "nightly": ""}

    rows = _services_rows(fake.bot_reviews(REPO, pull.number)[-1]["body"])
    assert sorted(rows) == ["api", "nightly"]
    assert f"| `{API}` |" in rows["api"] and BUILT not in rows["api"]
    assert f"| {BUILT} |" in rows["nightly"]


def test_a_never_deployed_environment_plans_without_references(
        fake: FakeGitHub, deliver: Deliver) -> None:
    fake.create_repo(REPO, {".infrar.yaml": CONFIG, **FILES, **CODE})
    pull = fake.open_pull(REPO, "services", {"README.md": "# photos, again\n"})
    runtime = deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    plan = plans.latest(runtime.db, repo=REPO, pr=pull.number, environment="production")
    assert plan is not None
    assert IMAGES_FILE not in _files(plans.archive_of(runtime.vault, plan))
    rows = _services_rows(fake.bot_reviews(REPO, pull.number)[-1]["body"])
    assert all(f"| {BUILT} |" in row for row in rows.values()) and len(rows) == 2


def _report(*steps: tuple[str, bool], unhealthy: bool = False) -> DeployReport:
    report = DeployReport(steps=[StepResult(name, ok, 1.0) for name, ok in steps],
                          images={"api": API})
    if unhealthy:
        report.health.append(Health("api", "https://api.example/healthz", False, "HTTP 503"))
    return report


def test_a_deploy_records_its_images_once_they_are_applied(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_schema()
    ctx = cast(Any, SimpleNamespace(runtime=SimpleNamespace(db=db), repo=REPO))
    plan = Plan(project="web", environment="production")
    where = {"repo": REPO, "project": "web", "environment": "production"}

    # The push went through but the images step failed: what runs is what ran before.
    images.record(db, **where, images={"api": LEGACY, "nightly": LEGACY})
    apply_run._keep_images(ctx, plan, _report(("apply infrastructure", True),
                                              ("push api", True), ("apply images", False)))
    assert images.deployed(db, **where) == {"api": LEGACY, "nightly": LEGACY}

    # Applied, then unhealthy: the services run the new images all the same.
    apply_run._keep_images(ctx, plan, _report(("apply infrastructure", True),
                                              ("apply images", True), unhealthy=True))
    assert images.deployed(db, **where) == {"api": API}
    assert images.deployed(db, repo=REPO, project="", environment="production") == {}
