"""Apply the reviewed plan, and only it: same head SHA, same digest, not applied before."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from infrar.app.github.client import PullInfo
from infrar.app.state import credentials, job_output, plans, tfstate
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


def apply_reviewed(ctx: Context, pr: PullInfo, environment: str, *, head_sha: str
                   ) -> ApplyOutcome:
    rt = ctx.runtime
    plan = plans.latest(rt.db, repo=ctx.repo, pr=pr.number, environment=environment)
    if plan is None or not plan.reviewed:
        return _refused(environment, "there is no reviewed plan for it; comment "
                        f"`/infrar plan -e {environment}` first")
    if plan.status == plans.APPLIED:
        return _refused(environment, f"the plan for {short(plan.head_sha)} was already applied")
    if plan.status == plans.APPLYING:
        return _interrupted(environment, plan.head_sha, plan.digest)
    if plan.status != plans.PLANNED:
        return _refused(environment, f"the last plan {plan.status}; plan again")
    if plan.head_sha != head_sha:
        return _refused(environment, f"the reviewed plan was made for {short(plan.head_sha)}, "
                        f"but the head is now {short(head_sha)}; plan again and review it")
    if not plans.start_apply(rt.db, plan.id):
        return _refused(environment, "another apply of this plan is running or has run")
    secrets = credentials.environment_for(rt.db, rt.vault, repo=ctx.repo,
                                          environment=environment)
    workdir = scratch(ctx.work_dir, "apply-")
    try:
        env = load_generator().terraform_env(provider=plan.provider,
                                             cache_root=rt.settings.data_dir)
        applied = apply_archive(
            plans.archive_of(rt.vault, plan), expected_digest=plan.digest,
            workdir=workdir / "tf",
            state=tfstate.load(rt.db, rt.vault, repo=ctx.repo, environment=environment),
            env={**env, **secrets}, secrets=list(secrets.values()),
            on_output=job_output.recorder(rt.db, job_id=ctx.job.id, stream=environment))
    except Exception as exc:  # noqa: BLE001 - reported on the PR, Terraform's text redacted
        plans.finish_apply(rt.db, plan.id, ok=False)
        return ApplyOutcome(environment, False, _failed_text(environment, plan.head_sha, exc))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if applied.state is not None:
        tfstate.store(rt.db, rt.vault, repo=ctx.repo, environment=environment,
                      state=applied.state)
    plans.finish_apply(rt.db, plan.id, ok=True)
    output = applied.output.strip().splitlines()[-40:]
    text = (f"### Applied `{environment}` (plan for {short(plan.head_sha)}, digest "
            f"`{plan.digest[:12]}`)\n\n<details><summary>Terraform output</summary>\n\n"
            + "\n".join(fence(output, info="text")) + "\n\n</details>\n")
    return ApplyOutcome(environment, True, text)


def _refused(environment: str, reason: str) -> ApplyOutcome:
    return ApplyOutcome(environment, False, f"### Not applied: `{environment}`\n\n"
                                            f"Infrar did not apply because {reason}.\n")


def _interrupted(environment: str, head_sha: str, digest: str) -> ApplyOutcome:
    """An apply that started and never finished (its worker was killed mid-apply): never
    re-run by itself, since Terraform may have changed part of the environment already."""
    return ApplyOutcome(environment, False, (
        f"### Apply interrupted: `{environment}` (plan for {short(head_sha)}, digest "
        f"`{digest[:12]}`)\n\n"
        "An apply of this plan started but never finished: the worker running it stopped "
        "while Terraform was applying. Terraform may have changed part of the environment, "
        "and the Terraform state Infrar keeps is the one from before this apply. Infrar will "
        "not apply this plan again by itself, and the lock on "
        f"`{environment}` stays with this pull request.\n\n"
        "To recover:\n\n"
        f"1. check `{environment}` for resources the interrupted apply created or changed "
        "(see the operator guide: import them into the state, or remove them);\n"
        f"2. comment `/infrar plan -e {environment}` to plan again, and review the new plan;\n"
        f"3. comment `/infrar apply -e {environment}` to apply it (or `/infrar unlock -e "
        f"{environment}` to give the environment up).\n"))


def _failed_text(environment: str, head_sha: str, exc: Exception) -> str:
    lines = str(exc).splitlines()[-60:]
    return (f"### Apply failed: `{environment}` (plan for {short(head_sha)})\n\n"
            + "\n".join(fence(lines, info="text")) + "\n")
