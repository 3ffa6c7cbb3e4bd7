"""Pull request closed: apply on merge (the reviewed plans only), then clean up.

An apply that fails (or was interrupted) after the merge keeps its lock: the environment may be
half-changed, so nobody else plans or applies there until someone has looked. Terraform's error
goes on the pull request, and the project's environment gets (or updates) its issue.
"""

from __future__ import annotations

import logging

from infrar.app.fields import INSTALLED
from infrar.app.github.client import PullInfo
from infrar.app.github.publish import publish_comment
from infrar.app.routing import Router
from infrar.app.state import locks, plans
from infrar.app.workflow import kept_issue
from infrar.app.workflow.apply_run import ApplyOutcome, apply_reviewed, flags
from infrar.app.workflow.router import Context, from_installation
from infrar.engine.terraform.markdown import fence

log = logging.getLogger(__name__)

UNFINISHED = (plans.FAILED, plans.APPLYING)
ISSUE_TOPIC = "apply"


router: Router[Context] = Router()


@router.on("pull_request", "closed", when=from_installation, needs={
    **INSTALLED, "pull_request.number": "id", "pull_request.merged?": "bool",
    "pull_request.head.sha": "sha"})
def on_closed(ctx: Context, _job: object) -> None:
    raw = ctx.payload["pull_request"]
    number = int(raw["number"])
    kept: frozenset[tuple[str, str]] = frozenset()
    if raw.get("merged"):
        kept = _apply_on_merge(ctx, ctx.github.pull(number), merged_head=str(raw["head"]["sha"]))
    ctx.github.delete_branch(f"{ctx.runtime.settings.bot_branch_prefix}{number}")
    dropped = plans.discard(ctx.runtime.db, repo=ctx.repo, pr=number)
    released = locks.release(ctx.runtime.db, repo=ctx.repo, pr=number, keep=kept)
    log.info("%s#%d closed: %d plan(s) dropped, %d lock(s) released, %d kept", ctx.repo, number,
             dropped, released, len(kept))


def _apply_on_merge(ctx: Context, pr: PullInfo, *, merged_head: str
                    ) -> frozenset[tuple[str, str]]:
    """Apply every plan marked for it; the (project, environment) pairs whose apply failed or
    never finished, whose locks stay."""
    db = ctx.runtime.db
    parts, failed = [], []
    kept = set()
    for planned in plans.planned(db, repo=ctx.repo, pr=pr.number):
        plan = plans.latest(db, repo=ctx.repo, pr=pr.number, project=planned.project,
                            environment=planned.environment)
        if plan is None or not plan.apply_on_merge:
            continue
        outcome = apply_reviewed(ctx, pr, planned.environment, head_sha=merged_head,
                                 project=planned.project)
        parts.append(outcome.message)
        close_apply_issue(ctx, pr, outcome)
        after = plans.latest(db, repo=ctx.repo, pr=pr.number, project=planned.project,
                             environment=planned.environment)
        if after is not None and after.status in UNFINISHED:
            kept.add((planned.project, planned.environment))
            if outcome.failed:
                failed.append(outcome)
    if parts:
        recovery = "\n".join(_recovery(ctx, pr, o) for o in failed)
        publish_comment(ctx.github, pr.number, key=f"merge:{ctx.job.id}",
                        body="## Infrar apply on merge\n\n" + "\n".join(parts) + recovery)
    return frozenset(kept)


def _recovery(ctx: Context, pr: PullInfo, outcome: ApplyOutcome) -> str:
    """What to do after a failed apply on merge; the environment's issue opened or updated."""
    where = flags(outcome.project, outcome.environment)
    steps = (f"To recover: look at what Terraform changed before it failed; fix the cause in a "
             f"new pull request; comment `/infrar unlock {where}` on #{pr.number} to release the "
             "lock; then plan, review and apply the new pull request (docs/projects.md, \"A "
             "failed apply after the merge\").")
    title = (f"Infrar: apply of {outcome.environment}"
             + (f" ({outcome.project})" if outcome.project else "") + " failed after merging "
             f"#{pr.number}")
    body = (f"Applying the reviewed plan of #{pr.number} ({pr.html_url}) after its merge failed."
            f" The lock on `{outcome.environment}` stays with #{pr.number}, since the "
            "environment may be half-changed.\n\n"
            + "\n".join(fence(outcome.error.splitlines()[-60:], info="text")) + "\n\n" + steps)
    number = kept_issue.keep_open(ctx.runtime.db, ctx.github, _issue_key(ctx, outcome),
                                  title=title, body=body)
    return (f"\nThe lock on `{outcome.environment}` stays with this pull request, since the "
            f"environment may be half-changed; tracked in #{number}. {steps}\n")


def _issue_key(ctx: Context, outcome: ApplyOutcome) -> kept_issue.IssueKey:
    return kept_issue.IssueKey(repo=ctx.repo, project=outcome.project,
                               environment=outcome.environment, topic=ISSUE_TOPIC)


def close_apply_issue(ctx: Context, pr: PullInfo, outcome: ApplyOutcome) -> None:
    """A successful apply ends the trouble a failed one opened an issue about."""
    if outcome.applied and kept_issue.open_number(ctx.runtime.db, _issue_key(ctx, outcome)):
        kept_issue.keep_closed(ctx.runtime.db, ctx.github, _issue_key(ctx, outcome),
                               note=f"Applied from #{pr.number} ({pr.html_url}); closing.")
