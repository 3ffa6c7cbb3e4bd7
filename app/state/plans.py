"""Saved plans, bound to a pull request, an environment, a head SHA and a digest."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from infrar.app.state.db import Database, affected, now
from infrar.app.state.models import Plan

PLANNED, APPLYING, APPLIED, FAILED, SUPERSEDED = (
    "planned", "applying", "applied", "failed", "superseded")


def save(db: Database, *, repo: str, pr: int, environment: str, provider: str, head_sha: str,
         digest: str,
         archive: bytes, headline: str, has_changes: bool, delivery_id: str,
         requirements: tuple[str, ...] = (), apply_on_merge: bool = False) -> int:
    with db.session() as s:
        s.execute(update(Plan).where(
            Plan.repo == repo, Plan.pr == pr, Plan.environment == environment,
            Plan.status == PLANNED).values(status=SUPERSEDED))
        row = Plan(repo=repo, pr=pr, environment=environment, provider=provider,
                   head_sha=head_sha, digest=digest,
                   archive=archive, headline=headline, has_changes=has_changes,
                   status=PLANNED, delivery_id=delivery_id, reviewed=False, created_at=now(),
                   requirements=",".join(requirements), apply_on_merge=apply_on_merge)
        s.add(row)
        s.flush()
        return int(row.id)


def environments(db: Database, *, repo: str, pr: int) -> list[str]:
    with db.session() as s:
        return sorted(set(s.execute(select(Plan.environment).where(
            Plan.repo == repo, Plan.pr == pr, Plan.status != SUPERSEDED)).scalars()))


def requirements_of(plan: Plan) -> tuple[str, ...]:
    return tuple(r for r in plan.requirements.split(",") if r)


def mark_reviewed(db: Database, plan_ids: list[int]) -> None:
    with db.session() as s:
        s.execute(update(Plan).where(Plan.id.in_(plan_ids)).values(reviewed=True))


def latest(db: Database, *, repo: str, pr: int, environment: str) -> Plan | None:
    with db.session() as s:
        return s.execute(select(Plan).where(
            Plan.repo == repo, Plan.pr == pr, Plan.environment == environment,
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
        return affected(s.execute(delete(Plan).where(Plan.repo == repo, Plan.pr == pr)))


def reviewed_head(db: Database, *, repo: str, pr: int) -> str | None:
    """The head SHA of the newest reviewed plan of a pull request."""
    with db.session() as s:
        return s.execute(select(Plan.head_sha).where(
            Plan.repo == repo, Plan.pr == pr, Plan.reviewed.is_(True))
            .order_by(Plan.id.desc()).limit(1)).scalar_one_or_none()
