"""What the dashboard shows, as plain data: the pages render it and /api returns it as JSON.

Every function takes the signed-in operator and returns only what they may see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from infrar.app.dashboard import drift
from infrar.app.dashboard.principals import Operator
from infrar.app.logs import scrub
from infrar.app.state import audit, job_output, plans
from infrar.app.state.deliveries import FAILED, QUEUED, RUNNING
from infrar.app.state.models import Credential, Delivery, Installation, Lock, Plan
from infrar.engine.terraform.redaction import redact

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

JOBS_SHOWN = 100
APPLIES_SHOWN = 20
LIVE = (QUEUED, RUNNING)


def clean(text: str | None) -> str | None:
    """Error text as it may be shown: GitHub tokens, keys and secret-shaped values removed."""
    return None if text is None else redact(scrub(text))


def installations(runtime: Runtime, op: Operator) -> list[dict[str, Any]]:
    with runtime.db.session() as s:
        known = {i.id: i for i in s.execute(select(Installation)).scalars()}
    found = []
    for inst in op.access.installations.values():
        row = known.get(inst.id)
        found.append({
            "id": inst.id, "account": inst.account, "account_type": inst.account_type,
            "admin": inst.admin, "suspended": bool(row and row.suspended),
            "repos": sorted(r for r, i in op.access.repos.items() if i == inst.id)})
    return sorted(found, key=lambda i: str(i["account"]).casefold())


def repo(runtime: Runtime, op: Operator, full_name: str) -> dict[str, Any]:
    db, web = runtime.db, runtime.settings.web_url
    with db.session() as s:
        rows = list(s.execute(select(Plan).where(Plan.repo == full_name)
                              .order_by(Plan.id)).scalars())
        held = list(s.execute(select(Lock).where(Lock.repo == full_name)
                              .order_by(Lock.project, Lock.environment)).scalars())
    latest: dict[tuple[int, str, str], Plan] = {}
    for row in rows:
        if row.status != plans.SUPERSEDED:
            latest[(row.pr, row.project, row.environment)] = row
    names = {row.project: row.project_name or row.project for row in rows}
    pulls: dict[int, list[dict[str, Any]]] = {}
    for (pr, _project, _env), row in sorted(latest.items()):
        pulls.setdefault(pr, []).append(plan_summary(row))
    applied = sorted((r for r in rows if r.applied_at is not None),
                     key=lambda r: r.applied_at or 0, reverse=True)[:APPLIES_SHOWN]
    return {
        "repo": full_name, "installation_id": op.access.repos[full_name],
        "url": f"{web}/{full_name}",
        "pulls": [{"number": pr, "url": f"{web}/{full_name}/pull/{pr}", "plans": found}
                  for pr, found in sorted(pulls.items())],
        "locks": [{"project": names.get(lock.project, lock.project), "project_key": lock.project,
                   "environment": lock.environment, "pr": lock.pr, "holder": lock.holder,
                   "url": lock.url, "acquired_at": lock.acquired_at} for lock in held],
        "drift": drift.status(db, full_name),
        "applies": [{"plan_id": r.id, "pr": r.pr, "project": r.project_name or r.project,
                     "environment": r.environment,
                     "head_sha": r.head_sha, "digest": r.digest, "status": r.status,
                     "applied_at": r.applied_at} for r in applied],
    }


def plan_summary(row: Plan) -> dict[str, Any]:
    requirements = list(plans.requirements_of(row))
    owners = [o for o in (row.policy_owners or "").split(",") if o]
    return {
        "id": row.id, "pr": row.pr, "project": row.project_name or row.project,
        "environment": row.environment, "provider": row.provider,
        "head_sha": row.head_sha, "digest": row.digest, "summary": row.headline,
        "has_changes": row.has_changes, "status": row.status, "reviewed": row.reviewed,
        "cost": row.cost or None, "policy": policy_result(row.policy_failures),
        "policy_failures": row.policy_failures, "policy_owners": owners,
        "requirements": requirements, "apply_on_merge": row.apply_on_merge,
        "who_may_apply": who_may_apply(requirements, row.policy_failures, owners),
        "created_at": row.created_at, "applied_at": row.applied_at, "job_id": row.delivery_id,
    }


def policy_result(failures: int) -> str:
    if not failures:
        return "no failed check"
    return f"{failures} failed check(s)"


def who_may_apply(requirements: list[str], failures: int, owners: list[str]) -> str:
    rule = "anyone with write access (/infrar apply)"
    wanted = {"approved": "once approved", "mergeable": "once mergeable",
              "undiverged": "while not behind its base"}
    extra = [wanted.get(r, r) for r in requirements]
    if failures:
        extra.append(f"after a policy owner ({', '.join(owners) or 'none named'}) approves "
                     "the failed checks")
    return rule + (" " + ", ".join(extra) if extra else "")


def plan(runtime: Runtime, op: Operator, plan_id: int) -> dict[str, Any] | None:
    with runtime.db.session() as s:
        row = s.get(Plan, plan_id)
    if row is None or not op.access.can_see(row.repo):
        return None
    found = plan_summary(row) | {"repo": row.repo}
    found["output"] = [line.text for line in job_output.lines(
        runtime.db, runtime.vault, row.delivery_id,
        stream=plans.state_environment(row.project, row.environment))]
    return found


def about(payload: str | None) -> tuple[str | None, int | None]:
    """The repository and installation a delivery is about."""
    try:
        doc = json.loads(payload) if payload else {}
    except (ValueError, RecursionError):
        return None, None
    doc = doc if isinstance(doc, Mapping) else {}
    repository, installation = doc.get("repository"), doc.get("installation")
    name = repository.get("full_name") if isinstance(repository, Mapping) else None
    inst = installation.get("id") if isinstance(installation, Mapping) else None
    return (name if isinstance(name, str) else None,
            inst if isinstance(inst, int) and not isinstance(inst, bool) else None)


def _visible(op: Operator, repo_name: str | None, inst: int | None) -> bool:
    if repo_name is not None:
        return op.access.can_see(repo_name)
    return inst is not None and op.access.admin_of(inst)


def _job(row: Delivery, repo_name: str | None, op: Operator) -> dict[str, Any]:
    end = row.finished_at or (time.time() if row.status in LIVE else row.heartbeat_at)
    return {
        "id": row.id, "event": row.event, "action": row.action, "repo": repo_name,
        "status": row.status, "attempts": row.attempts, "received_at": row.received_at,
        "finished_at": row.finished_at,
        "duration_s": None if end is None else round(max(end - row.received_at, 0.0), 1),
        "error": clean(row.error),
        "can_retry": (row.status == FAILED and row.payload is not None and repo_name is not None
                      and op.access.can_see(repo_name)),
    }


def jobs(runtime: Runtime, op: Operator, *, limit: int = JOBS_SHOWN) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with runtime.db.session() as s:
        query = select(Delivery).order_by(Delivery.received_at.desc()).limit(limit * 10)
        for row in s.execute(query).scalars():
            repo_name, inst = about(row.payload)
            if _visible(op, repo_name, inst):
                found.append(_job(row, repo_name, op))
            if len(found) >= limit:
                break
    return found


def job(runtime: Runtime, op: Operator, job_id: str) -> dict[str, Any] | None:
    with runtime.db.session() as s:
        row = s.get(Delivery, job_id)
    if row is None:
        return None
    repo_name, inst = about(row.payload)
    if not _visible(op, repo_name, inst):
        return None
    found = _job(row, repo_name, op)
    found["live"] = row.status in LIVE
    found["output"] = [{"id": line.id, "stream": line.stream, "text": line.text}
                       for line in job_output.lines(runtime.db, runtime.vault, job_id)]
    return found


def job_visible(runtime: Runtime, op: Operator, job_id: str) -> bool:
    with runtime.db.session() as s:
        row = s.get(Delivery, job_id)
    return row is not None and _visible(op, *about(row.payload))


def job_status(runtime: Runtime, job_id: str) -> str | None:
    with runtime.db.session() as s:
        row = s.get(Delivery, job_id)
        return None if row is None else row.status


def audit_log(runtime: Runtime, op: Operator) -> list[dict[str, Any]]:
    return [vars(e) for e in audit.recent(runtime.db, repos=set(op.access.repos),
                                          actor=op.login)]


def installation_settings(runtime: Runtime, op: Operator, installation_id: int
                          ) -> dict[str, Any] | None:
    """For admins of the installation's account only: how the App is set up (never a secret
    value: only whether one is set), and which credential names each repository has."""
    if not op.access.admin_of(installation_id):
        return None
    inst = op.access.installations[installation_id]
    names = sorted(r for r, i in op.access.repos.items() if i == installation_id)
    with runtime.db.session() as s:
        creds = list(s.execute(select(Credential.repo, Credential.environment, Credential.name)
                               .where(Credential.repo.in_(names))
                               .order_by(Credential.repo, Credential.environment,
                                         Credential.name)))
    settings = runtime.settings
    return {
        "id": installation_id, "account": inst.account, "account_type": inst.account_type,
        "repos": names,
        "credentials": [{"repo": c[0], "environment": c[1], "name": c[2]} for c in creds],
        "app": {
            "api_url": settings.api_url, "encryption_key_set": bool(settings.encryption_keys),
            "allow_fork_plans": settings.allow_fork_plans,
            "plan_workers": settings.plan_workers, "lease_seconds": settings.lease_seconds,
            "access_recheck_seconds": settings.access_recheck_seconds,
            "bot_branch_prefix": settings.bot_branch_prefix,
        },
    }
