"""The review shows a project's services, their images and the rights each one gets, next to
the plan: through the real server, real git and real Terraform on `local` (where the services
run as local processes, so the table says so), and from the App's generator on aws (where each
service gets an identity holding exactly those permissions)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import payloads
from app_support import Deliveries, read_logs
from fake_github import FakeGitHub

from infrar.app.workflow import engine_generator, render
from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.terraform import PlanSummary

REPO = "acme/photos"
CONFIG = """\
version: 1
project: photos
provider: local
policy:
  checkov: false
environments:
  production:
    provider: local
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
FILES = {
    "README.md": "# photos\n",
    "photos/__init__.py": "",
    "photos/jobs/__init__.py": "",
}
CODE = {
    "photos/web.py": ("from infrar import storage\n\n\n"
                      "def app(environ, start_response):\n"
                      "    storage.write('uploads', 'photo.jpg', environ['wsgi.input'].read())\n"
                      "    start_response('200 OK', [])\n"
                      "    return [storage.read('uploads', 'photo.jpg')]\n"),
    "photos/jobs/prune.py": ("from infrar import storage\n\n"
                             "for key in storage.list_objects('uploads'):\n"
                             "    storage.delete('uploads', key)\n"),
}


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def test_a_pull_request_review_shows_each_service_and_its_rights_on_local(
        fake: FakeGitHub, app_env: dict[str, str], start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "1")
    send = Deliveries(fake, url, app_env, partial(read_logs, tmp_path))
    fake.create_repo(REPO, {".infrar.yaml": CONFIG, **FILES})
    pull = fake.open_pull(REPO, "services", CODE)
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    review = fake.bot_reviews(REPO, pull.number)[-1]["body"]
    assert "Plan: 1 to add" in review
    plan_at, services_at = review.index("Plan: 1 to add"), review.index("#### Services")
    assert plan_at < services_at < review.index("/infrar apply -e production")
    rows = _rows(review[services_at:])
    assert rows[0] == ("| Service | Runs as | Image | Resource | Operations | Permissions |")
    api = [r for r in rows if r.startswith("| api |")]
    nightly = [r for r in rows if r.startswith("| nightly |")]
    assert len(api) == 1 and len(nightly) == 1
    assert "| http | runs locally (`infrar run`) |" in api[0]
    assert "| read, write |" in api[0] and "delete" not in api[0]
    assert "| schedule, `30 2 * * *` | runs locally (`infrar run`) |" in nightly[0]
    assert "| delete, list_objects |" in nightly[0]
    assert "no identity restricts them" in review


def test_the_review_on_aws_gives_each_service_exactly_its_permissions(
        tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "repo"
    for relative, text in {".infrar.yaml": CONFIG, **FILES, **CODE}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    monkeypatch.chdir(root)
    target = resolve_target(load_project_config(), provider="aws")
    generated = engine_generator.generate(source_root=root, target=target,
                                          out_dir=root / ".infrar" / "terraform" / "aws",
                                          cache_root=tmp_path / "cache")
    assert not generated.errors
    outcome = render.EnvironmentOutcome(
        name="production", provider="aws", services=generated.services,
        summary=PlanSummary(add=0, change=0, destroy=0, no_changes=True, resources=(),
                            outputs=()))
    section = render.environment_section(outcome)
    rows = _rows(section[section.index("#### Services"):])
    image = "built at apply from the aws tree, deployed by digest"
    assert rows[2:] == [
        f"| api | http | {image} | bucket `uploads` | read, write | "
        "`s3:GetObject`, `s3:ListBucket`, `s3:PutObject` |",
        f"| nightly | schedule, `30 2 * * *` | {image} | bucket `uploads` | "
        "delete, list_objects | `s3:DeleteObject`, `s3:ListBucket` |",
    ]
    assert "its own identity holding exactly these permissions" in section
