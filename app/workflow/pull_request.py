"""Pull request opened / synchronize / reopened / ready_for_review: plan it (drafts wait)."""

from __future__ import annotations

import logging

from infrar.app.github.client import PullInfo
from infrar.app.github.publish import publish_comment
from infrar.app.routing import Router
from infrar.app.state import plans
from infrar.app.workflow import checks, render
from infrar.app.workflow.plan_run import Request, run_plan
from infrar.app.workflow.router import CHECKED_OUT, Context, from_installation

log = logging.getLogger(__name__)

FORK_NOTICE = (
    "This pull request comes from a fork. Infrar does not transform, plan or apply fork pull "
    "requests, because that would run code and Terraform from outside this repository with its "
    "credentials. The operator of this Infrar installation can allow it "
    "(`INFRAR_ALLOW_FORK_PLANS`); otherwise, push the branch to this repository.")


router: Router[Context] = Router()


@router.on("pull_request", "opened", "synchronize", "reopened", "ready_for_review",
           when=from_installation, needs={**CHECKED_OUT, "pull_request.number": "id"})
def on_pull_request_update(ctx: Context, _job: object) -> None:
    number = int(ctx.payload["pull_request"]["number"])
    pr = ctx.github.pull(number)  # fresh: the payload may be older than the branch
    if pr.state != "open" or pr.head_ref.startswith(ctx.runtime.settings.bot_branch_prefix):
        return
    if pr.draft:
        log.info("%s#%d is a draft; waiting for ready_for_review", ctx.repo, number)
        return
    if is_fork(ctx, pr) and not ctx.runtime.settings.allow_fork_plans:
        refuse_fork(ctx, pr)
        return
    if plans.reviewed_head(ctx.runtime.db, repo=ctx.repo, pr=number) == pr.head_sha:
        log.info("%s#%d: %s is planned and reviewed already", ctx.repo, number, pr.head_sha)
        return  # pushes in quick succession: an earlier delivery already planned this head
    run_plan(ctx, Request(pr=pr, key=ctx.job.id))


def is_fork(ctx: Context, pr: PullInfo) -> bool:
    return pr.head_repo != ctx.repo


def refuse_fork(ctx: Context, pr: PullInfo) -> None:
    publish_comment(ctx.github, pr.number, key=f"fork:{render.short(pr.head_sha)}",
                    body=FORK_NOTICE)
    check = checks.start(ctx.github, pr.head_sha, external_id=f"fork:{pr.head_sha}",
                         title="Fork pull request")
    checks.complete(ctx.github, check, ok=True, conclusion="neutral",
                    title="Not planned: fork pull request", summary=FORK_NOTICE)
