"""A repository with two projects (monorepo), through the real server, real git and real
Terraform on `local`, against the GitHub fake: a pull request plans only the projects it
touches, one review carries a section per project and environment, each project has its own
check run and locks, and every command takes -p."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import payloads
from app_support import Deliveries, read_logs
from fake_github import FakeGitHub
from scenario import APP_PY

import infrar.app.workflow.router  # noqa: F401 - handlers first (plan_run is imported by them)
from infrar.app.workflow import plan_run, render

REPO = "acme/platform"


def project_config(name: str) -> str:
    return (f"version: 1\nproject: {name}\nprovider: local\npaths: [src]\n"
            "policy:\n  checkov: false\n"
            "environments:\n  production:\n    provider: local\n")


FILES = {
    "README.md": "# platform\n",
    "services/api/.infrar.yaml": project_config("api"),
    "services/api/src/helpers.py": "def greet():\n    return 'hi'\n",
    "services/worker/.infrar.yaml": project_config("worker"),
    "services/worker/src/helpers.py": "def work():\n    return 1\n",
}


def bodies(fake: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in fake.bot_comments(REPO, number)]


def check_runs(fake: FakeGitHub, head_sha: str) -> dict[str, str | None]:
    return {r["name"]: r["conclusion"] for r in fake.repos[REPO].check_runs.values()
            if r["head_sha"] == head_sha}


def test_pull_requests_plan_the_projects_they_touch(fake: FakeGitHub, app_env: dict[str, str],
                                                    start_app, tmp_path: Path) -> None:
    url = start_app("serve", {**app_env, "INFRAR_PLAN_WORKERS": "2"}, "--server", "flask",
                    "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env, partial(read_logs, tmp_path))
    fake.create_repo(REPO, FILES)
    fake.repos[REPO].permissions.update(alice="write", bob="write")
    local = Path(app_env["INFRAR_LOCAL_ROOT"])

    one = fake.open_pull(REPO, "api-only", {"services/api/src/app.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, one, "opened"))
    review = fake.bot_reviews(REPO, one.number)[-1]["body"]
    assert "Project <code>api</code>" in review and "Plan: 1 to add" in review
    assert "Project <code>worker</code>" not in review
    assert "not planned: <code>worker</code>" in review
    assert "/infrar apply -p api -e production" in review
    assert check_runs(fake, one.head_sha) == {"Infrar": "success", "infrar/api": "success"}
    branch = "refs/heads/infrar/pr-1"
    assert "module \"storage\"" in fake.git.show(
        REPO, branch, "services/api/.infrar/terraform/production/main.tf")
    assert fake.git.show(REPO, branch, "services/api/.infrar/build/local/app.py") == \
        APP_PY.replace("from infrar.storage", "from infrar_native.storage")
    assert not fake.git.has_file(REPO, branch,
                                 "services/worker/.infrar/terraform/production/main.tf")

    # Both touched: both planned, in one review; the api lock is the first pull request's.
    two = fake.open_pull(REPO, "both", {"services/api/src/other.py": APP_PY,
                                        "services/worker/src/app.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, two, "opened"))
    review = fake.bot_reviews(REPO, two.number)[-1]["body"]
    api, worker = review.split("Project <code>worker</code>")
    assert "Locked by [#1]" in api and "Plan: 1 to add" in worker
    assert check_runs(fake, two.head_sha) == {
        "Infrar": "failure", "infrar/api": "failure", "infrar/worker": "success"}

    def command(pull: Any, body: str, login: str = "alice") -> str:
        send.send("issue_comment", payloads.comment(fake, REPO, pull, body, login))
        return bodies(fake, pull.number)[-1]

    unknown = command(two, "/infrar apply -p billing")
    assert "Unknown project <code>billing</code>" in unknown and "<code>worker</code>" in unknown
    planned = command(two, "/infrar plan -p billing")
    assert "Unknown project `billing`" in planned and "`api`, `worker`" in planned

    assert "Released 1 lock(s)" in command(one, "/infrar unlock -p api")
    command(two, "/infrar plan -p api")
    review = fake.bot_reviews(REPO, two.number)[-1]["body"]
    assert "Project <code>api</code>" in review and "Locked by" not in review
    assert "Project <code>worker</code>" not in review

    asked = command(two, "/infrar apply")
    assert "Say which project" in asked and "-p worker -e production" in asked
    applied = command(two, "/infrar apply -p worker")
    assert "Applied `production` of project `worker`" in applied, applied
    assert (local / "worker-production-uploads").is_dir()
    assert not (local / "api-production-uploads").exists()
    applied = command(two, "/infrar apply -p api -e production")
    assert "Applied `production` of project `api`" in applied, applied
    assert (local / "api-production-uploads").is_dir()

    # A change outside every project plans nothing.
    three = fake.open_pull(REPO, "docs", {"README.md": "# platform, documented\n"})
    send.send("pull_request", payloads.pull_request(fake, REPO, three, "opened"))
    assert fake.bot_reviews(REPO, three.number) == []
    assert check_runs(fake, three.head_sha) == {"Infrar": "neutral"}

    # A broken configuration of one project is reported at its own file and line.
    four = fake.open_pull(REPO, "broken", {"services/worker/.infrar.yaml":
                                           project_config("worker") + "bogus: 1\n"})
    send.send("pull_request", payloads.pull_request(fake, REPO, four, "opened"))
    assert "services/worker/.infrar.yaml:10" in bodies(fake, four.number)[-1]
    run = next(r for r in fake.repos[REPO].check_runs.values() if r["head_sha"] == four.head_sha)
    assert [(a["path"], a["start_line"]) for a in run["output"]["annotations"]] == [
        ("services/worker/.infrar.yaml", 10)]


def test_plans_run_in_parallel_up_to_the_pool_size(monkeypatch: Any) -> None:
    """Two plans with a pool of two meet at a barrier, which one at a time never would."""
    barrier = threading.Barrier(2, timeout=30)
    seen: list[str] = []

    def plan_environment(_ctx: object, _request: object, run: Any,
                         outcome: render.EnvironmentOutcome, _root: Path) -> None:
        barrier.wait()
        seen.append(f"{run.project.name}/{outcome.name}")

    monkeypatch.setattr(plan_run, "_plan_environment", plan_environment)
    ctx: Any = SimpleNamespace(runtime=SimpleNamespace(settings=SimpleNamespace(plan_workers=2)))
    runs: Any = [SimpleNamespace(project=SimpleNamespace(name=n), outcomes={
        "production": render.EnvironmentOutcome(name="production", provider="local")})
        for n in ("api", "worker")]
    plan_run._plan_all(ctx, object(), runs, Path("."))  # type: ignore[arg-type]
    assert sorted(seen) == ["api/production", "worker/production"]


def test_a_pool_of_one_plans_one_at_a_time(monkeypatch: Any) -> None:
    running, most = [0], [0]
    lock = threading.Lock()

    def plan_environment(*_args: object) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.05)
        with lock:
            running[0] -= 1

    monkeypatch.setattr(plan_run, "_plan_environment", plan_environment)
    ctx: Any = SimpleNamespace(runtime=SimpleNamespace(settings=SimpleNamespace(plan_workers=1)))
    runs: Any = [SimpleNamespace(project=SimpleNamespace(name=n), outcomes={
        e: render.EnvironmentOutcome(name=e, provider="local") for e in ("staging", "prod")})
        for n in ("api", "worker")]
    plan_run._plan_all(ctx, object(), runs, Path("."))  # type: ignore[arg-type]
    assert most[0] == 1


def test_a_failed_apply_after_the_merge_keeps_the_lock_and_opens_one_issue(
        fake: FakeGitHub, app_env: dict[str, str], start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env, partial(read_logs, tmp_path))
    # The production environment is the configuration's last entry.
    on_merge = {n: project_config(n) + "    apply_on_merge: true\n" for n in ("api", "worker")}
    fake.create_repo(REPO, {**FILES, "services/api/.infrar.yaml": on_merge["api"],
                            "services/worker/.infrar.yaml": on_merge["worker"]})
    fake.repos[REPO].permissions.update(alice="write")
    local = Path(app_env["INFRAR_LOCAL_ROOT"])
    one = fake.open_pull(REPO, "both", {"services/api/src/app.py": APP_PY,
                                        "services/worker/src/app.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, one, "opened"))
    assert fake.bot_reviews(REPO, one.number)[-1]["body"].count("Plan: 1 to add") == 2
    # A file where the api bucket's folder goes: Terraform's mkdir fails at apply time.
    (local / "api-production-uploads").write_text("in the way\n")

    fake.merge_pull(REPO, one.number)
    send.send("pull_request", payloads.pull_request(fake, REPO, one, "closed"))
    report = next(b for b in bodies(fake, one.number) if "apply on merge" in b)
    assert "Apply failed: `production` of project `api`" in report, report
    assert "Applied `production` of project `worker`" in report
    assert "File exists" in report and "/infrar unlock -p api -e production" in report
    issues = list(fake.repos[REPO].issues.values())
    assert len(issues) == 1 and issues[0]["state"] == "open"
    assert "apply of production (api) failed" in issues[0]["title"]
    assert "File exists" in issues[0]["body"] and f"#{one.number}" in issues[0]["body"]
    assert (local / "worker-production-uploads").is_dir()

    # The api lock stays with the merged pull request; the worker lock was released.
    two = fake.open_pull(REPO, "fix", {"services/api/src/other.py": APP_PY,
                                       "services/worker/src/other.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, two, "opened"))
    api, worker = fake.bot_reviews(REPO, two.number)[-1]["body"].split(
        "Project <code>worker</code>")
    assert f"Locked by [#{one.number}]" in api and "Locked by" not in worker

    def command(pull: Any, body: str) -> str:
        send.send("issue_comment", payloads.comment(fake, REPO, pull, body, "alice"))
        return (bodies(fake, pull.number) or [""])[-1]

    # Recovery: clear the cause, release the lock on the merged pull request, plan, apply.
    (local / "api-production-uploads").unlink()
    assert "Released 1 lock(s)" in command(one, "/infrar unlock -p api -e production")
    command(two, "/infrar plan -p api")
    assert "Applied `production` of project `api`" in command(two, "/infrar apply -p api")
    assert (local / "api-production-uploads").is_dir()
    assert [i["state"] for i in fake.repos[REPO].issues.values()] == ["closed"]
