"""`/infrar plan|apply|unlock|help` comments on pull requests."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from infrar.app.github.client import PullInfo
from infrar.app.state import locks, plans
from infrar.app.workflow import render
from infrar.app.workflow.apply_run import apply_reviewed
from infrar.app.workflow.commands import Command, CommandError, is_command, parse
from infrar.app.workflow.plan_run import Request, run_plan
from infrar.app.workflow.publish import publish_comment
from infrar.app.workflow.pull_request import is_fork, refuse_fork
from infrar.app.workflow.requirements import can_write, unmet
from infrar.app.workflow.router import CHECKED_OUT, ROUTER, Context, from_installation
from infrar.engine.terraform.markdown import code

log = logging.getLogger(__name__)


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def wanted(payload: Mapping[str, Any]) -> bool:
    issue, comment = _obj(payload.get("issue")), _obj(payload.get("comment"))
    body = comment.get("body")
    return ("pull_request" in issue and isinstance(body, str) and is_command(body)
            and from_installation(payload))


def is_own(ctx: Context, comment: Mapping[str, Any]) -> bool:
    """Posted by this App (by its App id, or its bot login from `GET /app`). Only our own
    comments are never commands, which rules out a loop; another bot's are commands, and its
    login needs write access like anyone's."""
    via = _obj(comment.get("performed_via_github_app")).get("id")
    if via is not None and str(via) == ctx.runtime.settings.app_id:
        return True
    author = _obj(comment.get("user"))
    return author.get("type") == "Bot" and ctx.github.is_own(str(author.get("login")), "Bot")


@ROUTER.on("issue_comment", "created", when=wanted, needs={
    **CHECKED_OUT, "issue.number": "id", "comment.id": "id", "comment.body": "str",
    "comment.user.login": "str", "comment.user.type?": "str",
    "comment.performed_via_github_app.id?": "id"})
def on_command(ctx: Context, _job: object) -> None:
    number = int(ctx.payload["issue"]["number"])
    comment = ctx.payload["comment"]
    user = str(comment["user"]["login"])
    if is_own(ctx, comment):
        log.info("%s#%d: comment %s is this App's own; not a command", ctx.repo, number,
                 comment["id"])
        return
    gh, key = ctx.github, f"cmd:{ctx.job.id}"
    gh.react(number, int(comment["id"]), "eyes")
    try:
        command = parse(comment["body"])
    except CommandError as exc:
        publish_comment(gh, number, key=key,
                        body=f"{code(str(exc))}\n\n{render.HELP}")
        return
    if command.name == "help":
        publish_comment(gh, number, key=key, body=render.HELP)
        return
    if not can_write(gh, user):
        publish_comment(gh, number, key=key, body=(
            f"{code(user)} may not run `/infrar {command.name}`: it needs write access to "
            "this repository."))
        return
    pr = gh.pull(number)
    if pr.state != "open":
        publish_comment(gh, number, key=key, body="This pull request is closed.")
        return
    if command.name == "unlock":
        _unlock(ctx, pr, command, key)
    elif is_fork(ctx, pr) and not ctx.runtime.settings.allow_fork_plans:
        refuse_fork(ctx, pr)
    elif command.name == "plan":
        run_plan(ctx, Request(pr=pr, key=ctx.job.id, requested_by=user,
                              environments=(command.environment,) if command.environment
                              else ()))
    else:
        _apply(ctx, pr, command, key, user)


def _unlock(ctx: Context, pr: PullInfo, command: Command, key: str) -> None:
    released = locks.release(ctx.runtime.db, repo=ctx.repo, pr=pr.number,
                             environment=command.environment)
    where = (f"environment {code(command.environment)}" if command.environment
             else "all environments")
    publish_comment(ctx.github, pr.number, key=key,
                    body=f":unlock: Released {released} lock(s) of this pull request ({where}).")


def _apply(ctx: Context, pr: PullInfo, command: Command, key: str, user: str) -> None:
    gh, rt = ctx.github, ctx.runtime
    planned = plans.environments(rt.db, repo=ctx.repo, pr=pr.number)
    environment = command.environment or (planned[0] if len(planned) == 1 else None)
    if environment is None:
        choices = ", ".join(code(e) for e in planned) or "none yet"
        publish_comment(gh, pr.number, key=key, body=(
            f"Say which environment to apply with `-e` (planned: {choices})."))
        return
    plan = plans.latest(rt.db, repo=ctx.repo, pr=pr.number, environment=environment)
    reasons = unmet(gh, pr, plans.requirements_of(plan)) if plan is not None else []
    holder = locks.acquire(rt.db, repo=ctx.repo, environment=environment, pr=pr.number,
                           holder=user, url=pr.html_url)
    if holder is not None:
        reasons.append(f"{code(environment)} is locked by [#{holder.pr}]({holder.url})")
    if reasons:
        gh.react(pr.number, int(ctx.payload["comment"]["id"]), "confused")
        publish_comment(gh, pr.number, key=key, body=(
            f"### Not applied: {code(environment)}\n\n"
            + "\n".join(f"- {r}" for r in reasons) + "\n"))
        return
    outcome = apply_reviewed(ctx, pr, environment, head_sha=pr.head_sha)
    gh.react(pr.number, int(ctx.payload["comment"]["id"]),
             "rocket" if outcome.applied else "confused")
    publish_comment(gh, pr.number, key=key, body=outcome.message)
