"""Apply the reviewed plan, and only it: same head SHA, same digest, not applied before.

A reviewed plan whose Terraform runs services on a cloud is deployed, as `infrar apply` does
(engine/deploy.py): that plan applied, each service's image built from the reviewed head and
pushed by digest, the images applied, each http service's health checked; every step appears in
the `Infrar deploy` check run as it finishes.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infrar.app.github.client import PullInfo
from infrar.app.github.forge import Forge
from infrar.app.state import credentials, images, job_output, plans, tfstate
from infrar.app.state.models import Plan
from infrar.app.workflow import checks, gitops
from infrar.app.workflow.generation import load_generator
from infrar.app.workflow.render import short
from infrar.app.workflow.router import Context
from infrar.app.workflow.terraform_step import STATE_FILE, Applied, apply_archive, scratch
from infrar.engine.config import resolve_target
from infrar.engine.deploy import (
    IMAGES_STEP,
    REPOSITORIES_OUTPUT,
    DeployError,
    Deployment,
    DeployReport,
    deploy,
    deployment_for,
)
from infrar.engine.diagnostics import EngineError
from infrar.engine.projects import discover
from infrar.engine.terraform.markdown import fence

LineCallback = Callable[[str], None]


@dataclass(frozen=True)
class ApplyOutcome:
    environment: str
    applied: bool
    message: str
    project: str = ""
    failed: bool = False
    """Terraform ran and failed (the environment may be half-changed), not merely refused."""
    error: str = ""


def flags(project: str, environment: str) -> str:
    """The command options that name a project's environment."""
    return (f"-p {project} " if project else "") + f"-e {environment}"


def label(project: str, environment: str) -> str:
    return f"`{environment}`" + (f" of project `{project}`" if project else "")


def policy_block(plan: Plan) -> str | None:
    """Why a plan's failed policies still block its apply; None once an owner approved it (for
    its digest) or nothing failed."""
    if not plan.policy_failures:
        return None
    owners = ", ".join(f"`{o}`" for o in plans.policy_owners_of(plan)) or (
        "nobody: the environment has no `policy_owners` in `.infrar.yaml`")
    return (f"{plan.policy_failures} policy check(s) failed on the plan for "
            f"{short(plan.head_sha)}; a policy owner ({owners}) must comment "
            f"`/infrar approve-policies {flags(plan.project, plan.environment)}`")


def apply_reviewed(ctx: Context, pr: PullInfo, environment: str, *, head_sha: str,
                   project: str = "") -> ApplyOutcome:
    rt = ctx.runtime
    where = flags(project, environment)
    plan = plans.latest(rt.db, repo=ctx.repo, pr=pr.number, project=project,
                        environment=environment)
    if plan is None or not plan.reviewed:
        return _refused(project, environment, "there is no reviewed plan for it; comment "
                        f"`/infrar plan {where}` first")
    if plan.status == plans.APPLIED:
        return _refused(project, environment,
                        f"the plan for {short(plan.head_sha)} was already applied")
    if plan.status == plans.APPLYING:
        return _interrupted(project, environment, plan.head_sha, plan.digest)
    if plan.status != plans.PLANNED:
        return _refused(project, environment, f"the last plan {plan.status}; plan again")
    if plan.head_sha != head_sha:
        return _refused(project, environment,
                        f"the reviewed plan was made for {short(plan.head_sha)}, "
                        f"but the head is now {short(head_sha)}; plan again and review it")
    blocked = policy_block(plan)
    if blocked is not None and plans.policy_approver(rt.db, plan) is None:
        return _refused(project, environment, blocked)
    if not plans.start_apply(rt.db, plan.id):
        return _refused(project, environment, "another apply of this plan is running or has run")
    secrets = credentials.environment_for(rt.db, rt.vault, repo=ctx.repo,
                                          environment=environment)
    scope = plans.state_environment(project, environment)
    archive = plans.archive_of(rt.vault, plan)
    workdir = scratch(ctx.work_dir, "apply-")
    record = job_output.recorder(rt.db, rt.vault, job_id=ctx.job.id, stream=scope)
    deployed = ""
    try:
        env = load_generator().terraform_env(provider=plan.provider,
                                             cache_root=rt.settings.data_dir)

        def apply_plan(on_line: LineCallback | None = None) -> Applied:
            return apply_archive(
                archive, expected_digest=plan.digest, workdir=workdir / "tf",
                state=tfstate.load(rt.db, rt.vault, repo=ctx.repo, environment=scope),
                env={**env, **secrets}, secrets=list(secrets.values()),
                on_output=_both(record, on_line))

        if plan.provider != "local" and runs_services(archive):
            deployed = _deploy(ctx, plan, workdir, env={**env, **secrets},
                               secrets=tuple(secrets.values()), apply_plan=apply_plan,
                               on_line=record)
            applied = Applied(deployed, _state(workdir / "tf"))
        else:
            applied = apply_plan()
    except Exception as exc:  # noqa: BLE001 - reported on the PR, Terraform's text redacted
        _keep_state(ctx, scope, workdir / "tf", exc)
        plans.finish_apply(rt.db, plan.id, ok=False)
        return ApplyOutcome(environment, False,
                            _failed_text(project, environment, plan.head_sha, exc),
                            project=project, failed=True, error=str(exc))
    finally:
        record.flush()
        shutil.rmtree(workdir, ignore_errors=True)
    if applied.state is not None:
        tfstate.store(rt.db, rt.vault, repo=ctx.repo, environment=scope, state=applied.state)
    plans.finish_apply(rt.db, plan.id, ok=True)
    output = applied.output.strip().splitlines()[-40:]
    what = "Deploy report" if deployed else "Terraform output"
    text = (f"### Applied {label(project, environment)} (plan for {short(plan.head_sha)}, digest "
            f"`{plan.digest[:12]}`)\n\n<details><summary>{what}</summary>\n\n"
            + "\n".join(fence(output, info="text")) + "\n\n</details>\n")
    return ApplyOutcome(environment, True, text, project=project)


def runs_services(archive: bytes) -> bool:
    """Whether a reviewed plan's Terraform runs services (it names their image repositories):
    applying it is then a deploy."""
    needle = f'output "{REPOSITORIES_OUTPUT}"'.encode()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".tf"):
                data = tar.extractfile(member)
                if data is not None and needle in data.read():
                    return True
    return False


def _deploy(ctx: Context, plan: Plan, workdir: Path, *, env: dict[str, str],
            secrets: tuple[str, ...], apply_plan: Callable[[LineCallback], Applied],
            on_line: LineCallback) -> str:
    """The reviewed head checked out, its project's services built, pushed and deployed; the
    deploy's report (raises DeployError, with the report, at the first step that fails)."""
    source = gitops.checkout(url=ctx.payload["repository"]["clone_url"], sha=plan.head_sha,
                             dest=workdir / "src", token=ctx.token())
    deployment = checkout_deployment(source.root, project=plan.project,
                                     environment=plan.environment, workdir=workdir / "tf",
                                     env=env, secrets=secrets)
    where = label(plan.project, plan.environment).replace("`", "")
    run_id = checks.start_deploy(ctx.github, plan.head_sha,
                                 external_id=f"deploy:{ctx.job.id}:{plan.project}:"
                                             f"{plan.environment}",
                                 title=f"Deploying {where}")
    progress = CheckRunProgress(ctx.github, run_id, title=f"Deploying {where}", on_line=on_line)
    try:
        report = deploy(deployment, apply_reviewed=lambda lines: apply_plan(lines).output,
                        progress=progress)
    except DeployError as exc:
        _keep_images(ctx, plan, exc.report)
        checks.complete(ctx.github, run_id, ok=False, title=f"Deploy failed: {where}",
                        summary=str(exc), text=progress.text())
        raise DeployError(f"{exc}\n{exc.report.text()}", exc.report) from exc
    _keep_images(ctx, plan, report)
    checks.complete(ctx.github, run_id, ok=True, title=f"Deployed {where}",
                    summary=progress.summary(), text=progress.text())
    return report.text()


def _keep_images(ctx: Context, plan: Plan, report: DeployReport) -> None:
    """Once the images step applied, the environment runs the pushed images (even if a health
    check then failed): the App's next plan of it must set them again."""
    if any(s.name == IMAGES_STEP and s.ok for s in report.steps):
        images.record(ctx.runtime.db, repo=ctx.repo, project=plan.project,
                      environment=plan.environment, images=report.images)


def checkout_deployment(root: Path, *, project: str, environment: str, workdir: Path,
                        env: dict[str, str], secrets: tuple[str, ...]) -> Deployment:
    """The deployment of `project`'s (its key) services in `environment`, from the checkout
    at `root`, through the Terraform in `workdir`."""
    found = [p for p in discover(root) if p.key == project]
    if not found:
        raise EngineError(f"the reviewed head has no project {project or '(root)'!r}")
    target = resolve_target(found[0].config, environment=environment)
    return deployment_for(target, workdir=workdir, env=env, secrets=secrets)


@dataclass
class CheckRunProgress:
    """A deploy's steps in a check run: its output updated as each step finishes; every line
    goes to `on_line` (the job's output)."""

    gh: Forge
    run_id: int
    title: str
    on_line: LineCallback
    done: list[str] = field(default_factory=list)
    failed: int = 0
    started: dict[str, float] = field(default_factory=dict)

    def start(self, step: str) -> None:
        self.started[step] = time.monotonic()
        self.on_line(f"==> {step}")

    def line(self, step: str, text: str) -> None:
        self.on_line(f"{step} | {text}")

    def finish(self, step: str, *, ok: bool, seconds: float, detail: str = "") -> None:
        self.failed += not ok
        mark = ":white_check_mark:" if ok else ":x:"
        self.done.append(f"- {mark} {step} ({seconds:.1f}s)" + (f": {detail}" if detail else ""))
        self.on_line(f"{'ok' if ok else 'FAILED'} {step} ({seconds:.1f}s)")
        checks.progress(self.gh, self.run_id, title=self.title, summary=self.summary(),
                        text=self.text())

    def summary(self) -> str:
        return (f"{len(self.done)} step(s) finished" + (f", {self.failed} failed" if self.failed
                                                        else "") + ".")

    def text(self) -> str:
        return "\n".join(self.done) + "\n"


def _both(first: LineCallback, second: LineCallback | None) -> LineCallback:
    if second is None:
        return first

    def both(text: str) -> None:
        first(text)
        second(text)
    return both


def _state(tf_dir: Path) -> bytes | None:
    state_file = tf_dir / STATE_FILE
    return state_file.read_bytes() if state_file.is_file() else None


def _keep_state(ctx: Context, scope: str, tf_dir: Path, exc: Exception) -> None:
    """A deploy that failed after its first apply keeps the state that apply wrote: the
    infrastructure it changed is real."""
    state = _state(tf_dir)
    if isinstance(exc, DeployError) and exc.report.steps and exc.report.steps[0].ok \
            and state is not None:
        tfstate.store(ctx.runtime.db, ctx.runtime.vault, repo=ctx.repo, environment=scope,
                      state=state)


def _refused(project: str, environment: str, reason: str) -> ApplyOutcome:
    return ApplyOutcome(environment, False, f"### Not applied: {label(project, environment)}"
                                            f"\n\nInfrar did not apply because {reason}.\n",
                        project=project)


def _interrupted(project: str, environment: str, head_sha: str, digest: str) -> ApplyOutcome:
    """An apply that started and never finished (its worker was killed mid-apply): never
    re-run by itself, since Terraform may have changed part of the environment already."""
    where = flags(project, environment)
    return ApplyOutcome(environment, False, project=project, message=(
        f"### Apply interrupted: {label(project, environment)} (plan for {short(head_sha)}, digest "
        f"`{digest[:12]}`)\n\n"
        "An apply of this plan started but never finished: the worker running it stopped "
        "while Terraform was applying. Terraform may have changed part of the environment, "
        "and the Terraform state Infrar keeps is the one from before this apply. Infrar will "
        "not apply this plan again by itself, and the lock on "
        f"`{environment}` stays with this pull request.\n\n"
        "To recover:\n\n"
        f"1. check `{environment}` for resources the interrupted apply created or changed "
        "(see the operator guide: import them into the state, or remove them);\n"
        f"2. comment `/infrar plan {where}` to plan again, and review the new plan;\n"
        f"3. comment `/infrar apply {where}` to apply it (or `/infrar unlock {where}` to give "
        "the environment up).\n"))


def _failed_text(project: str, environment: str, head_sha: str, exc: Exception) -> str:
    lines = str(exc).splitlines()[-60:]
    return (f"### Apply failed: {label(project, environment)} (plan for {short(head_sha)})\n\n"
            + "\n".join(fence(lines, info="text")) + "\n")
