"""Saved plans, bound to a pull request, an environment, a head SHA and a digest.

The archive (Terraform configuration, lock file, saved plan: resource names, variable values)
is sealed with the App's keys, bound to those same fields: an archive moved to another plan's
row, or a row whose head SHA or digest was changed, no longer opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update

from infrar.app.crypto import Vault
from infrar.app.state.db import Database, affected, now
from infrar.app.state.models import Plan, PolicyApproval

PLANNED, APPLYING, APPLIED, FAILED, SUPERSEDED = (
    "planned", "applying", "applied", "failed", "superseded")


def _context(repo: str, pr: int, project: str, environment: str, head_sha: str,
             digest: str) -> str:
    scope = f"{project}\0{environment}" if project else environment
    return f"infrar-plan\0{repo}\0{pr}\0{scope}\0{head_sha}\0{digest}"


def _context_of(plan: Plan) -> str:
    return _context(plan.repo, plan.pr, plan.project, plan.environment, plan.head_sha,
                    plan.digest)


def state_environment(project: str, environment: str) -> str:
    """The key a project's environment keeps its Terraform state under: the environment's
    name for the root project (as before projects), `project/environment` for the others."""
    return f"{project}/{environment}" if project else environment


def save(db: Database, vault: Vault, *, repo: str, pr: int, environment: str, provider: str,
         head_sha: str, digest: str, archive: bytes, headline: str, has_changes: bool,
         delivery_id: str, requirements: tuple[str, ...] = (),
         apply_on_merge: bool = False, project: str = "", project_name: str = "",
         policy_failures: int = 0, policy_owners: tuple[str, ...] = (),
         cost: str = "") -> int:
    sealed = vault.seal_bytes(archive, context=_context(repo, pr, project, environment,
                                                        head_sha, digest))
    with db.session() as s:
        s.execute(update(Plan).where(
            Plan.repo == repo, Plan.pr == pr, Plan.project == project,
            Plan.environment == environment, Plan.status == PLANNED).values(status=SUPERSEDED))
        row = Plan(repo=repo, pr=pr, project=project, project_name=project_name or project,
                   environment=environment,
                   provider=provider, head_sha=head_sha, digest=digest,
                   archive=sealed, headline=headline, has_changes=has_changes,
                   status=PLANNED, delivery_id=delivery_id, reviewed=False, created_at=now(),
                   requirements=",".join(requirements), apply_on_merge=apply_on_merge,
                   policy_failures=policy_failures, policy_owners=",".join(policy_owners),
                   cost=cost)
        s.add(row)
        s.flush()
        return int(row.id)


def environments(db: Database, *, repo: str, pr: int, project: str = "") -> list[str]:
    return [t.environment for t in planned(db, repo=repo, pr=pr) if t.project == project]


@dataclass(frozen=True, order=True)
class Planned:
    project: str
    """The project's key."""
    environment: str
    name: str
    """The project's name."""


def planned(db: Database, *, repo: str, pr: int) -> list[Planned]:
    """Every project and environment of a pull request with a plan that is not superseded."""
    with db.session() as s:
        rows = s.execute(select(Plan.project, Plan.environment, Plan.project_name).where(
            Plan.repo == repo, Plan.pr == pr, Plan.status != SUPERSEDED)).all()
        return sorted({Planned(str(p), str(e), str(n or p)) for p, e, n in rows})


def archive_of(vault: Vault, plan: Plan) -> bytes:
    return vault.open_bytes(bytes(plan.archive), context=_context_of(plan))


def rotate(db: Database, vault: Vault) -> int:
    """Re-seal every archive not yet under the newest key; returns how many changed."""
    changed = 0
    with db.session() as s:
        for row in s.execute(select(Plan)).scalars():
            if vault.needs_reseal(bytes(row.archive)):
                row.archive = vault.reseal_bytes(bytes(row.archive), context=_context_of(row))
                changed += 1
    return changed


def requirements_of(plan: Plan) -> tuple[str, ...]:
    return tuple(r for r in plan.requirements.split(",") if r)


def mark_reviewed(db: Database, plan_ids: list[int]) -> None:
    with db.session() as s:
        s.execute(update(Plan).where(Plan.id.in_(plan_ids)).values(reviewed=True))


def latest(db: Database, *, repo: str, pr: int, environment: str, project: str = ""
           ) -> Plan | None:
    with db.session() as s:
        return s.execute(select(Plan).where(
            Plan.repo == repo, Plan.pr == pr, Plan.project == project,
            Plan.environment == environment,
            Plan.status != SUPERSEDED).order_by(Plan.id.desc()).limit(1)).scalar_one_or_none()


def start_apply(db: Database, plan_id: int) -> bool:
    """Move a plan to `applying`; False if another apply got there first or it is not fresh."""
    with db.session() as s:
        return affected(s.execute(update(Plan).where(Plan.id == plan_id, Plan.status == PLANNED)
                         .values(status=APPLYING))) == 1


def finish_apply(db: Database, plan_id: int, *, ok: bool) -> None:
    with db.session() as s:
        s.execute(update(Plan).where(Plan.id == plan_id).values(
            status=APPLIED if ok else FAILED, applied_at=now()))


def discard(db: Database, *, repo: str, pr: int) -> int:
    with db.session() as s:
        ids = select(Plan.id).where(Plan.repo == repo, Plan.pr == pr)
        s.execute(delete(PolicyApproval).where(PolicyApproval.plan_id.in_(ids)))
        return affected(s.execute(delete(Plan).where(Plan.repo == repo, Plan.pr == pr)))


def policy_owners_of(plan: Plan) -> tuple[str, ...]:
    return tuple(o for o in plan.policy_owners.split(",") if o)


def approve_policies(db: Database, plan: Plan, *, login: str) -> None:
    """Record `login`'s approval of this plan's failed policies, for this digest only."""
    with db.session() as s:
        if s.get(PolicyApproval, (plan.id, plan.digest)) is None:
            s.add(PolicyApproval(plan_id=plan.id, digest=plan.digest, login=login,
                                 approved_at=now()))


def policy_approver(db: Database, plan: Plan) -> str | None:
    """Who approved this plan's failed policies (for its digest), if anyone."""
    with db.session() as s:
        row = s.get(PolicyApproval, (plan.id, plan.digest))
        return row.login if row else None


def reviewed_head(db: Database, *, repo: str, pr: int) -> str | None:
    """The head SHA of the newest reviewed plan of a pull request."""
    with db.session() as s:
        return s.execute(select(Plan.head_sha).where(
            Plan.repo == repo, Plan.pr == pr, Plan.reviewed.is_(True))
            .order_by(Plan.id.desc()).limit(1)).scalar_one_or_none()
