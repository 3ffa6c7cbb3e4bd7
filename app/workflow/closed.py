"""Pull request closed: apply on merge (the reviewed plan only), then clean up."""

from __future__ import annotations

import logging

from infrar.app.fields import INSTALLED
from infrar.app.github.client import PullInfo
from infrar.app.routing import Router
from infrar.app.state import locks, plans
from infrar.app.workflow.apply_run import apply_reviewed
from infrar.app.workflow.publish import publish_comment
from infrar.app.workflow.router import Context, from_installation

log = logging.getLogger(__name__)


router: Router[Context] = Router()


@router.on("pull_request", "closed", when=from_installation, needs={
    **INSTALLED, "pull_request.number": "id", "pull_request.merged?": "bool",
    "pull_request.head.sha": "sha"})
def on_closed(ctx: Context, _job: object) -> None:
    raw = ctx.payload["pull_request"]
    number = int(raw["number"])
    if raw.get("merged"):
        _apply_on_merge(ctx, ctx.github.pull(number), merged_head=str(raw["head"]["sha"]))
    ctx.github.delete_branch(f"{ctx.runtime.settings.bot_branch_prefix}{number}")
    dropped = plans.discard(ctx.runtime.db, repo=ctx.repo, pr=number)
    released = locks.release(ctx.runtime.db, repo=ctx.repo, pr=number)
    log.info("%s#%d closed: %d plan(s) dropped, %d lock(s) released", ctx.repo, number,
             dropped, released)


def _apply_on_merge(ctx: Context, pr: PullInfo, *, merged_head: str) -> None:
    db = ctx.runtime.db
    parts = []
    for environment in plans.environments(db, repo=ctx.repo, pr=pr.number):
        plan = plans.latest(db, repo=ctx.repo, pr=pr.number, environment=environment)
        if plan is None or not plan.apply_on_merge:
            continue
        outcome = apply_reviewed(ctx, pr, environment, head_sha=merged_head)
        parts.append(outcome.message)
    if parts:
        publish_comment(ctx.github, pr.number, key=f"merge:{ctx.job.id}",
                        body="## Infrar apply on merge\n\n" + "\n".join(parts))
