"""Drift rounds: for every installed repository's default branch, each project and environment
whose `.infrar.yaml` sets `drift.schedule`, plan against the state the App's applies keep and
say what differs: one issue per project and environment (opened when drift appears, edited
while it lasts, closed with a note when it is gone) and a check run on the branch head.

A round is idempotent (the issue is found again by its marker, the check run by its external
id), remembers what it did in the database (so a restart loses nothing), and holds a lease per
project and environment, so two rounds never check the same one at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from croniter import croniter
from sqlalchemy import select

from infrar.app.github.client import CheckOutput, GitHubClient
from infrar.app.logs import scrub
from infrar.app.state import credentials, plans, tfstate
from infrar.app.state import drift as state
from infrar.app.state.db import now
from infrar.app.state.models import Installation, InstallationRepo
from infrar.app.workdirs import own
from infrar.app.workflow import gitops
from infrar.app.workflow.generation import load_generator
from infrar.app.workflow.kept_issue import IssueKey, keep_closed, keep_open
from infrar.app.workflow.plan_run import GENERATED_DIR
from infrar.app.workflow.safety import fresh_dir, repository_relative
from infrar.app.workflow.terraform_step import plan_directory, scratch
from infrar.engine import projects
from infrar.engine.config import ConfigError, resolve_target
from infrar.engine.drift import DriftReport, drift_report
from infrar.engine.projects import Project

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

log = logging.getLogger(__name__)

TOPIC = "drift"
CHECK_NAME = "Infrar drift"
TICK_SECONDS = 300.0
"""How often the worker looks for checks that are due: schedules are kept to within this."""
CLEAN, DRIFTED, ERROR, BUSY = "clean", "drifted", "error", "busy"


class DriftCheckError(RuntimeError):
    """This environment could not be checked (its code has errors, Terraform failed)."""


@dataclass(frozen=True)
class Checked:
    repo: str
    project: str
    """The project's name; empty for a repository's root `.infrar.yaml`."""
    environment: str
    outcome: str
    """clean, drifted, error, or busy (another round is checking it)."""
    issue: int | None = None
    detail: str = ""


@dataclass
class _Repo:
    runtime: Runtime
    gh: GitHubClient
    name: str
    installation_id: int
    branch: str
    head: str
    holder: str


def due(schedule: str, checked_at: float | None, moment: float) -> bool:
    """A check is due once the schedule has fired since the last one (at once, never checked)."""
    if checked_at is None:
        return True
    fired = croniter(schedule, datetime.fromtimestamp(moment, UTC)).get_prev(float)
    return float(fired) > checked_at


def run_round(runtime: Runtime, *, only_due: bool = False) -> list[Checked]:
    """One round over every installed repository; `only_due`: only the checks whose schedule
    has fired since they last ran (the worker's ticks), else every scheduled one (now)."""
    holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    found: list[Checked] = []
    for installation_id, repo in installed(runtime):
        try:
            found += _check_repository(runtime, installation_id, repo, holder=holder,
                                       only_due=only_due)
        except Exception as exc:  # noqa: BLE001 - one repository's trouble ends only its part
            log.exception("drift round for %s failed", repo)
            found.append(Checked(repo, "", "", ERROR, detail=scrub(f"{type(exc).__name__}: "
                                                                   f"{exc}")[:2000]))
    return found


def installed(runtime: Runtime) -> list[tuple[int, str]]:
    with runtime.db.session() as s:
        rows = s.execute(select(InstallationRepo.installation_id, InstallationRepo.full_name)
                         .join(Installation, Installation.id == InstallationRepo.installation_id)
                         .where(Installation.suspended.is_(False))
                         .order_by(InstallationRepo.full_name)).all()
        return [(int(i), str(n)) for i, n in rows]


def start(runtime: Runtime, stop: threading.Event, *, interval: float = TICK_SECONDS
          ) -> threading.Thread:
    """The worker's periodic tick: a round of the checks that are due, every `interval`."""

    def loop() -> None:
        while not stop.wait(interval):
            try:
                run_round(runtime, only_due=True)
            except Exception:
                log.exception("drift round failed")

    thread = threading.Thread(target=loop, name="infrar-drift", daemon=True)
    thread.start()
    return thread


def _check_repository(runtime: Runtime, installation_id: int, name: str, *, holder: str,
                      only_due: bool) -> list[Checked]:
    gh = runtime.github(repo=name, installation_id=installation_id)
    branch, clone_url = gh.default_branch()
    head = gh.branch_head(branch)
    moment = now()
    watched = state.watches(runtime.db, name)
    if only_due and state.scanned_head(runtime.db, name) == head and not any(
            due(w.schedule, w.checked_at, moment) for w in watched):
        return []  # nothing new on the branch, nothing due: no checkout
    repo = _Repo(runtime, gh, name, installation_id, branch, head, holder)
    root = scratch(own(runtime.settings.data_dir), "drift-")
    try:
        work = gitops.checkout(url=clone_url, sha=head, dest=root / "src",
                               token=runtime.tokens.token(installation_id))
        try:
            found = projects.discover(work.root)
        except ConfigError as exc:
            problems = "; ".join(repository_relative(p, work.root) for p in exc.problems)
            return [Checked(name, "", "", ERROR, detail=f"invalid configuration: {problems}")]
        scheduled = {(p.key, env): str(p.config.drift.schedule)
                     for p in found if p.config.drift.schedule for env in _environments(p)}
        checked_at = {(w.project, w.environment): w.checked_at for w in watched}
        state.record_scan(runtime.db, name, head_sha=head, scheduled=dict(scheduled))
        results = []
        for project in found:
            for environment in _environments(project):
                schedule = scheduled.get((project.key, environment))
                if schedule is None or (only_due and not due(
                        schedule, checked_at.get((project.key, environment)), moment)):
                    continue
                results.append(_check_leased(repo, project, environment, work.root, root,
                                             single=len(found) == 1 and project.at_root))
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _environments(project: Project) -> list[str]:
    return list(project.config.environments) or ["default"]


def _check_leased(repo: _Repo, project: Project, environment: str, checkout: Path,
                  root: Path, *, single: bool) -> Checked:
    db, lease = repo.runtime.db, repo.runtime.settings.lease_seconds
    shown_name = "" if single else project.name
    where = {"repo": repo.name, "project": project.key, "environment": environment}
    if not state.acquire(db, **where, holder=repo.holder, lease=lease):
        return Checked(repo.name, shown_name, environment, BUSY)
    outcome = ERROR
    try:
        with _renewing(repo, where):
            checked = _check(repo, project, environment, checkout, root, shown_name)
        outcome = checked.outcome
        return checked
    finally:
        state.release(db, **where, holder=repo.holder, outcome=outcome)


@contextmanager
def _renewing(repo: _Repo, where: dict[str, str]) -> Iterator[None]:
    stop = threading.Event()
    interval = max(repo.runtime.settings.lease_seconds / 3, 0.2)

    def beat() -> None:
        while not stop.wait(interval):
            try:
                state.renew(repo.runtime.db, **where, holder=repo.holder)
            except Exception:
                log.warning("renewing the drift lease failed", exc_info=True)

    thread = threading.Thread(target=beat, name="infrar-drift-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _check(repo: _Repo, project: Project, environment: str, checkout: Path, root: Path,
           shown_name: str) -> Checked:
    label = f"{shown_name} / {environment}" if shown_name else environment
    external_id = f"drift:{project.key}:{environment}:{repo.head}"
    check_name = f"{CHECK_NAME} ({label})"
    gh = repo.gh
    check = gh.find_check_run(repo.head, name=check_name, external_id=external_id) \
        or gh.start_check_run(repo.head, name=check_name, external_id=external_id,
                              title="Checking for drift")
    try:
        report = _plan(repo, project, environment, checkout, root)
    except Exception as exc:  # noqa: BLE001 - reported on the check run, the issue is kept
        detail = scrub(repository_relative(str(exc), checkout, root))[:4000]
        log.warning("drift check of %s %s failed: %s", repo.name, label, detail)
        gh.complete_check_run(check, conclusion="failure", output=CheckOutput(
            title="Drift check failed", summary=f"Could not check {label}:\n\n```\n{detail}\n```"))
        return Checked(repo.name, shown_name, environment, ERROR, detail=detail)
    key = IssueKey(repo.name, project.key, environment, TOPIC)
    sha = repo.head[:7]
    if report.drifted:
        body = _issue_body(report, label, repo, sha)
        number = keep_open(repo.runtime.db, gh, key, title=f"Drift in {label}", body=body)
        gh.complete_check_run(check, conclusion="failure", output=CheckOutput(
            title=f"Drift: {len(report.resources)} resource(s) differ",
            summary=f"{report.headline} See issue #{number}.", text=body))
        return Checked(repo.name, shown_name, environment, DRIFTED, issue=number)
    closed = keep_closed(repo.runtime.db, gh, key, note=(
        f"No drift any more: at {sha} of `{repo.branch}`, what is deployed in {label} matches "
        "the code. Closing."))
    gh.complete_check_run(check, conclusion="success", output=CheckOutput(
        title="No drift", summary=report.headline))
    return Checked(repo.name, shown_name, environment, CLEAN, issue=closed)


def _plan(repo: _Repo, project: Project, environment: str, checkout: Path,
          root: Path) -> DriftReport:
    rt = repo.runtime
    if not rt.vault.can_seal:
        raise DriftCheckError("the App has no encryption key (INFRAR_ENCRYPTION_KEY), so it "
                              "cannot read the Terraform state; ask its operator")
    config = project.config
    target = resolve_target(config, environment=environment if config.environments else None)
    directory = project.directory(checkout)
    out_dir = fresh_dir(directory, GENERATED_DIR) / environment
    generated = load_generator().generate(source_root=directory, target=target,
                                          out_dir=out_dir, cache_root=rt.settings.data_dir)
    if generated.errors:
        raise DriftCheckError("the code cannot be generated:\n" + "\n".join(generated.errors))
    secrets = credentials.environment_for(rt.db, rt.vault, repo=repo.name,
                                          environment=environment)
    scope = plans.state_environment(project.key, environment)
    planned = plan_directory(
        out_dir, workdir=root / "tf" / (project.key or "root") / environment,
        state=tfstate.load(rt.db, rt.vault, repo=repo.name, environment=scope),
        env={**generated.terraform_env, **secrets}, secrets=list(secrets.values()),
        init_cache=rt.init_cache)
    return drift_report(planned.shown, environment=environment)


def _issue_body(report: DriftReport, label: str, repo: _Repo, sha: str) -> str:
    plan = report.markdown(f"Drift in {label}")
    return (f"What is deployed in **{label}** no longer matches the code at `{sha}` of "
            f"`{repo.branch}`.\n\n{plan}\n"
            "To undo it, apply the code again: open a pull request that touches the project "
            "and comment `/infrar apply` (or merge it, where the environment applies on merge). "
            "To keep a change made by hand, put it in the code. This issue is edited while the "
            "drift lasts and closed once a check finds none.\n")
