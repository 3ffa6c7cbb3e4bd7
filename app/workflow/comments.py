"""`/infrar plan|apply|unlock|help` comments on pull requests."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from infrar.app.github.client import PullInfo
from infrar.app.github.publish import publish_comment
from infrar.app.routing import Router
from infrar.app.state import locks, plans
from infrar.app.workflow import render
from infrar.app.workflow.apply_run import apply_reviewed
from infrar.app.workflow.closed import close_apply_issue
from infrar.app.workflow.commands import Command, CommandError, is_command, parse
from infrar.app.workflow.plan_run import Request, run_plan
from infrar.app.workflow.pull_request import is_fork, refuse_fork
from infrar.app.workflow.requirements import can_write, is_policy_owner, unmet
from infrar.app.workflow.router import CHECKED_OUT, Context, from_installation
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


router: Router[Context] = Router()


@router.on("issue_comment", "created", when=wanted, needs={
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
    # A policy owner needs no write access: being named in `policy_owners` is the right.
    if command.name != "approve-policies" and not can_write(gh, user):
        publish_comment(gh, number, key=key, body=(
            f"{code(user)} may not run `/infrar {command.name}`: it needs write access to "
            "this repository."))
        return
    pr = gh.pull(number)
    if command.name == "unlock":
        # Also on a closed pull request: after a failed apply on merge it keeps its lock.
        _unlock(ctx, pr, command, key)
    elif pr.state != "open":
        publish_comment(gh, number, key=key, body="This pull request is closed.")
    elif is_fork(ctx, pr) and not ctx.runtime.settings.allow_fork_plans:
        refuse_fork(ctx, pr)
    elif command.name == "plan":
        run_plan(ctx, Request(pr=pr, key=ctx.job.id, requested_by=user,
                              environments=(command.environment,) if command.environment
                              else (),
                              projects=(command.project,) if command.project else ()))
    elif command.name == "approve-policies":
        _approve_policies(ctx, pr, command, key, user)
    else:
        _apply(ctx, pr, command, key, user)


def _target(ctx: Context, pr: PullInfo, command: Command, key: str, *, verb: str
            ) -> plans.Planned | None:
    """The planned project and environment the command names (or the only one there is);
    None, with a comment saying what to name, when it names none or more than one."""
    planned = plans.planned(ctx.runtime.db, repo=ctx.repo, pr=pr.number)
    several = len({p.project for p in planned}) > 1
    names = sorted({p.name for p in planned})
    matching = [p for p in planned
                if (command.project is None or command.project in (p.name, p.project))
                and (command.environment is None or command.environment == p.environment)]
    if len(matching) == 1:
        return matching[0]
    if command.project is not None and command.project not in {
            n for p in planned for n in (p.name, p.project)}:
        known = ", ".join(code(n) for n in names) or "none yet"
        body = f"Unknown project {code(command.project)}; planned projects: {known}."
    elif not matching and command.environment is not None:
        choices = ", ".join(code(_where(p, several)) for p in planned) or "none yet"
        body = (f"No plan for environment {code(command.environment)} (planned: {choices}); "
                f"comment `/infrar plan` first.")
    elif several and len({p.project for p in matching}) > 1:
        choices = ", ".join(code(_where(p, several)) for p in matching)
        body = (f"Say which project to {verb} with `-p` (and environment with `-e`); planned: "
                f"{choices}.")
    else:
        choices = ", ".join(code(p.environment) for p in matching) or "none yet"
        body = f"Say which environment to {verb} with `-e` (planned: {choices})."
    publish_comment(ctx.github, pr.number, key=key, body=body)
    return None


def label(project: str, environment: str) -> str:
    return code(environment) + (f" of project {code(project)}" if project else "")


def _where(planned: plans.Planned, several: bool) -> str:
    return f"-p {planned.name} -e {planned.environment}" if several else planned.environment


def _unlock(ctx: Context, pr: PullInfo, command: Command, key: str) -> None:
    project = None
    if command.project is not None:
        names = {p.name: p.project for p in plans.planned(ctx.runtime.db, repo=ctx.repo,
                                                          pr=pr.number)}
        project = names.get(command.project, command.project)
    released = locks.release(ctx.runtime.db, repo=ctx.repo, pr=pr.number,
                             environment=command.environment, project=project)
    where = (f"environment {code(command.environment)}" if command.environment
             else "all environments")
    if command.project is not None:
        where += f" of project {code(command.project)}"
    publish_comment(ctx.github, pr.number, key=key,
                    body=f":unlock: Released {released} lock(s) of this pull request ({where}).")


def _approve_policies(ctx: Context, pr: PullInfo, command: Command, key: str,
                      user: str) -> None:
    gh, db = ctx.github, ctx.runtime.db
    target = _target(ctx, pr, command, key, verb="approve")
    if target is None:
        return
    where = label(target.project, target.environment)
    plan = plans.latest(db, repo=ctx.repo, pr=pr.number, project=target.project,
                        environment=target.environment)
    reason = None
    if plan is None or not plan.reviewed:
        reason = "there is no reviewed plan for it"
    elif plan.head_sha != pr.head_sha:
        reason = (f"its plan was made for {render.short(plan.head_sha)}, but the head is now "
                  f"{render.short(pr.head_sha)}; plan again, then approve the new plan")
    elif not plan.policy_failures:
        reason = "its plan passed every policy check; there is nothing to approve"
    elif not is_policy_owner(gh, user, plans.policy_owners_of(plan)):
        owners = ", ".join(code(o) for o in plans.policy_owners_of(plan)) or (
            "none: the environment has no `policy_owners` in `.infrar.yaml`")
        reason = (f"{code(user)} is not one of its policy owners ({owners}); only they may "
                  "approve a plan that fails a policy check")
    if reason is not None or plan is None:
        gh.react(pr.number, int(ctx.payload["comment"]["id"]), "confused")
        publish_comment(gh, pr.number, key=key, body=(
            f"### Policies not approved: {where}\n\nInfrar did not record the approval "
            f"because {reason}.\n"))
        return
    plans.approve_policies(db, plan, login=user)
    gh.react(pr.number, int(ctx.payload["comment"]["id"]), "+1")
    publish_comment(gh, pr.number, key=key, body=(
        f"### Policies approved: {where}\n\n{code(user)} approved the "
        f"{plan.policy_failures} failed policy check(s) of the plan for "
        f"{render.short(plan.head_sha)} (digest `{plan.digest[:12]}`). It may be applied now; "
        "a new plan (a new push, or `/infrar plan`) needs a new approval.\n"))


def _apply(ctx: Context, pr: PullInfo, command: Command, key: str, user: str) -> None:
    gh, rt = ctx.github, ctx.runtime
    target = _target(ctx, pr, command, key, verb="apply")
    if target is None:
        return
    project, environment = target.project, target.environment
    plan = plans.latest(rt.db, repo=ctx.repo, pr=pr.number, project=project,
                        environment=environment)
    reasons = unmet(gh, pr, plans.requirements_of(plan)) if plan is not None else []
    holder = locks.acquire(rt.db, repo=ctx.repo, project=project, environment=environment,
                           pr=pr.number, holder=user, url=pr.html_url)
    if holder is not None:
        reasons.append(f"{label(project, environment)} is locked by "
                       f"[#{holder.pr}]({holder.url})")
    if reasons:
        gh.react(pr.number, int(ctx.payload["comment"]["id"]), "confused")
        publish_comment(gh, pr.number, key=key, body=(
            f"### Not applied: {label(project, environment)}\n\n"
            + "\n".join(f"- {r}" for r in reasons) + "\n"))
        return
    outcome = apply_reviewed(ctx, pr, environment, head_sha=pr.head_sha, project=project)
    close_apply_issue(ctx, pr, outcome)
    gh.react(pr.number, int(ctx.payload["comment"]["id"]),
             "rocket" if outcome.applied else "confused")
    publish_comment(gh, pr.number, key=key, body=outcome.message)
