"""The dashboard's changes: unlock an environment, retry a failed job. Each goes the way the
App's own path goes (the `/infrar unlock` command's code; the queue, as for a new delivery)
and is written to the audit log."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import update

from infrar.app.dashboard.principals import Operator
from infrar.app.dashboard.queries import about
from infrar.app.state import audit, deliveries, locks
from infrar.app.state.db import affected
from infrar.app.state.models import Delivery

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime


class Refused(Exception):
    """The operator may not do this (or there is nothing to do); `status` is the HTTP code."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        self.status = status
        super().__init__(message)


def unlock(runtime: Runtime, op: Operator, *, repo: str, environment: str,
           project: str = "") -> str:
    from infrar.app.workflow.commands import Command
    from infrar.app.workflow.comments import _unlock
    from infrar.app.workflow.requirements import can_write
    from infrar.app.workflow.router import Context

    if not op.access.can_see(repo):
        raise Refused("no such repository", status=404)
    holder = locks.get(runtime.db, repo=repo, environment=environment, project=project)
    where = f"{project}/{environment}" if project else environment
    if holder is None:
        raise Refused(f"{where} of {repo} is not locked", status=404)
    installation_id = op.access.repos[repo]
    entry = audit.record(runtime.db, actor=op.login, action="unlock", repo=repo,
                         target=f"{where} (#{holder.pr})", outcome="started")
    job = deliveries.Job(id=f"dashboard-{entry}", event="dashboard", action="unlock",
                         subject=None, attempts=1, payload={
                             "repository": {"full_name": repo},
                             "installation": {"id": installation_id}})
    ctx = Context(runtime, job)
    # The command's rule, asked of GitHub with the App's own token as the command does.
    if not can_write(ctx.github, op.login):
        audit.finish(runtime.db, entry, "refused: no write access")
        raise Refused(f"{op.login} needs write access to {repo} to unlock")
    pr = ctx.github.pull(holder.pr)
    # As `/infrar unlock -e ENV [-p PROJECT]`: the root project's lock alone needs no -p,
    # unless the pull request also holds another project's lock of that environment.
    others = {p for p, e in locks.held(runtime.db, repo=repo, pr=holder.pr)
              if e == environment and p != project}
    named = project if project or others else None
    _unlock(ctx, pr, Command("unlock", environment, project=named), f"dashboard-unlock:{entry}")
    audit.finish(runtime.db, entry, "released; comment posted")
    return f"Released the lock of {where} held by #{holder.pr}."


def retry(runtime: Runtime, op: Operator, job_id: str) -> str:
    """Queue a failed delivery again, with a fresh set of attempts."""
    with runtime.db.session() as s:
        row = s.get(Delivery, job_id)
        repo = about(row.payload)[0] if row is not None else None
    if row is None or repo is None or not op.access.can_see(repo):
        raise Refused("no such job", status=404)
    if row.status != deliveries.FAILED or row.payload is None:
        raise Refused(f"job {job_id} is {row.status}, not failed", status=409)
    entry = audit.record(runtime.db, actor=op.login, action="retry", repo=repo,
                         target=f"job {job_id} ({row.event}.{row.action})", outcome="started")
    with runtime.db.session() as s:
        moved = affected(s.execute(
            update(Delivery).where(Delivery.id == job_id, Delivery.status == deliveries.FAILED)
            .values(status=deliveries.QUEUED, attempts=0, enqueued_at=time.time(),
                    finished_at=None, heartbeat_at=None)))
        if moved and runtime.enqueue_in is not None:
            runtime.enqueue_in(s, job_id)  # the message and the row, in one transaction
    if not moved:
        audit.finish(runtime.db, entry, "refused: no longer failed")
        raise Refused(f"job {job_id} is no longer failed", status=409)
    if runtime.enqueue_in is None:
        runtime.enqueue(job_id)  # should this be lost, the reaper sends it again
    audit.finish(runtime.db, entry, "queued")
    return f"Job {job_id} is queued again."
