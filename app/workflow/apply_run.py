"""Apply the reviewed plan, and only it: same head SHA, same digest, not applied before."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from infrar.app.github.client import PullInfo
from infrar.app.state import credentials, job_output, plans, tfstate
from infrar.app.state.models import Plan
from infrar.app.workflow.generation import load_generator
from infrar.app.workflow.render import short
from infrar.app.workflow.router import Context
from infrar.app.workflow.terraform_step import apply_archive, scratch
from infrar.engine.terraform.markdown import fence


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
    workdir = scratch(ctx.work_dir, "apply-")
    try:
        env = load_generator().terraform_env(provider=plan.provider,
                                             cache_root=rt.settings.data_dir)
        applied = apply_archive(
            plans.archive_of(rt.vault, plan), expected_digest=plan.digest,
            workdir=workdir / "tf",
            state=tfstate.load(rt.db, rt.vault, repo=ctx.repo, environment=scope),
            env={**env, **secrets}, secrets=list(secrets.values()),
            on_output=job_output.recorder(rt.db, rt.vault, job_id=ctx.job.id, stream=scope))
    except Exception as exc:  # noqa: BLE001 - reported on the PR, Terraform's text redacted
        plans.finish_apply(rt.db, plan.id, ok=False)
        return ApplyOutcome(environment, False,
                            _failed_text(project, environment, plan.head_sha, exc),
                            project=project, failed=True, error=str(exc))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if applied.state is not None:
        tfstate.store(rt.db, rt.vault, repo=ctx.repo, environment=scope, state=applied.state)
    plans.finish_apply(rt.db, plan.id, ok=True)
    output = applied.output.strip().splitlines()[-40:]
    text = (f"### Applied {label(project, environment)} (plan for {short(plan.head_sha)}, digest "
            f"`{plan.digest[:12]}`)\n\n<details><summary>Terraform output</summary>\n\n"
            + "\n".join(fence(output, info="text")) + "\n\n</details>\n")
    return ApplyOutcome(environment, True, text, project=project)


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
