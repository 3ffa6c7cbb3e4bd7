"""The App's apply of a plan whose Terraform runs services on a cloud is a deploy through the
engine's one deploy function (as `infrar apply`): the reviewed archive says whether it runs
services, the deployment is made from the reviewed head's checkout, and each step appears in
the `Infrar deploy` check run as it finishes (against the GitHub fake, through the real
client). A real cloud deploy cannot run here: the steps after the first are proven in
tests/images on a stand-in configuration."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from fake_github import FakeGitHub
from scenario import REPO
from test_app_services_review import CODE, CONFIG, FILES

from infrar.app.github.client import GitHubClient
from infrar.app.workflow import checks, engine_generator
from infrar.app.workflow.apply_run import CheckRunProgress, checkout_deployment, runs_services
from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.deploy import DeployError, Deployment, deploy
from infrar.engine.images import DEFAULT_BASE_IMAGE

GCP_WORKER = """\
  indexer:
    kind: worker
    command: [python, -m, photos.jobs.prune]
"""


def _project(root: Path, extra: str = "") -> Path:
    for relative, text in {".infrar.yaml": CONFIG + extra, **FILES, **CODE}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return root


def _archive(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _generated(root: Path, provider: str, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.chdir(root)
    target = resolve_target(load_project_config(), provider=provider)
    out = root.parent / f"tf-{provider}"
    generated = engine_generator.generate(source_root=root, target=target, out_dir=out,
                                          cache_root=root.parent / "cache")
    assert not generated.errors
    return _archive(out)


def test_a_reviewed_plan_is_a_deploy_when_its_terraform_runs_services(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "repo")
    assert runs_services(_generated(root, "aws", monkeypatch))
    assert not runs_services(_generated(root, "local", monkeypatch))


def test_the_deployment_comes_from_the_reviewed_checkout(tmp_path: Path) -> None:
    root = _project(tmp_path / "repo", GCP_WORKER)
    deployment = checkout_deployment(root, project="", environment="production",
                                     workdir=tmp_path / "tf", env={"A": "b"}, secrets=("s",))
    assert sorted(deployment.services) == ["api", "indexer", "nightly"]
    assert deployment.environment == "production"
    assert deployment.build.provider == "local"  # the environment's provider in CONFIG
    assert deployment.workdir == tmp_path / "tf"
    assert deployment.env == {"A": "b"} and deployment.secrets == ("s",)
    assert deployment.base_image == DEFAULT_BASE_IMAGE
    assert "photos/web.py" in deployment.build.files
    assert deployment.worker_port is None

    gcp = (CONFIG + GCP_WORKER).replace("provider: local", "provider: gcp")
    (root / ".infrar.yaml").write_text(gcp, encoding="utf-8")
    on_gcp = checkout_deployment(root, project="", environment="production",
                                 workdir=tmp_path / "tf", env={}, secrets=())
    assert on_gcp.build.provider == "gcp"
    assert on_gcp.worker_port == 8080
    assert "infrar_native/__init__.py" in on_gcp.build.files


def _run(fake: FakeGitHub, run_id: int) -> dict:
    return fake.repos[REPO].check_runs[run_id]


def test_each_step_appears_in_the_check_run_as_it_finishes(fake: FakeGitHub,
                                                           forge: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "services", {"src/x.py": "x = 1\n"})
    run_id = checks.start_deploy(forge, pull.head_sha, external_id="deploy:1::production",
                                 title="Deploying production")
    lines: list[str] = []
    progress = CheckRunProgress(forge, run_id, title="Deploying production",
                                on_line=lines.append)
    progress.start("apply infrastructure")
    progress.line("apply infrastructure", "Apply complete! Resources: 3 added")
    progress.finish("apply infrastructure", ok=True, seconds=4.2)
    after_one = dict(_run(fake, run_id)["output"])
    progress.start("build api")
    progress.finish("build api", ok=True, seconds=30.0)
    run = _run(fake, run_id)
    assert run["name"] == "Infrar deploy" and run["status"] == "in_progress"
    assert after_one["summary"] == "1 step(s) finished."
    assert after_one["text"].splitlines() == [
        "- :white_check_mark: apply infrastructure (4.2s)"]
    assert run["output"]["text"].splitlines() == [
        "- :white_check_mark: apply infrastructure (4.2s)",
        "- :white_check_mark: build api (30.0s)"]
    assert "apply infrastructure | Apply complete! Resources: 3 added" in lines


def test_the_engines_deploy_drives_the_check_run_and_stops_at_a_failed_step(
        fake: FakeGitHub, forge: GitHubClient, tmp_path: Path) -> None:
    pull = fake.open_pull(REPO, "services", {"src/x.py": "x = 1\n"})
    run_id = checks.start_deploy(forge, pull.head_sha, external_id="deploy:2::production",
                                 title="Deploying production")
    lines: list[str] = []
    progress = CheckRunProgress(forge, run_id, title="Deploying production",
                                on_line=lines.append)
    root = _project(tmp_path / "repo")
    deployment: Deployment = checkout_deployment(
        root, project="", environment="production", workdir=tmp_path / "tf", env={},
        secrets=("hunter2",))

    def apply_reviewed(on_line) -> str:
        on_line("module.compute: Creating... token=hunter2")
        raise RuntimeError("Error: AccessDenied")

    with pytest.raises(DeployError) as raised:
        deploy(deployment, apply_reviewed=apply_reviewed, progress=progress)
    assert [s.name for s in raised.value.report.steps] == ["apply infrastructure"]
    output = _run(fake, run_id)["output"]
    assert output["summary"] == "1 step(s) finished, 1 failed."
    assert output["text"].startswith("- :x: apply infrastructure (")
    assert "Error: AccessDenied" in output["text"]
    assert any("Creating..." in line for line in lines)
    assert not any("hunter2" in line for line in lines)
