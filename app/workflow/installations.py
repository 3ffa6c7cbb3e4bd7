"""installation and installation_repositories events keep the installations table current."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infrar.app.fields import Spec
from infrar.app.routing import Router
from infrar.app.state import installations
from infrar.app.workflow.router import Context


def _names(repos: Iterable[Any] | None) -> list[str]:
    return [str(r["full_name"]) for r in repos or () if isinstance(r, dict) and "full_name" in r]


def _has_installation(payload: Mapping[str, Any]) -> bool:
    installation = payload.get("installation")
    return isinstance(installation, Mapping) and isinstance(installation.get("id"), int)


ACCOUNT: Spec = {"installation.id": "id", "installation.account?": "object",
                 "installation.account.login?": "str", "installation.account.type?": "str"}


router: Router[Context] = Router()


@router.on("installation", when=_has_installation,
           needs={**ACCOUNT, "repositories[].full_name?": "str"})
def on_installation(ctx: Context, _job: object) -> None:
    inst = ctx.payload["installation"]
    inst_id, action = int(inst["id"]), ctx.job.action
    if action == "deleted":
        installations.remove(ctx.runtime.db, inst_id)
        return
    account = inst.get("account") or {}
    installations.upsert(ctx.runtime.db, installation_id=inst_id,
                         account=str(account.get("login", "")),
                         account_type=str(account.get("type", "")),
                         suspended=action == "suspend")
    if action == "created":
        installations.add_repos(ctx.runtime.db, inst_id, _names(ctx.payload.get("repositories")))


@router.on("installation_repositories", when=_has_installation, needs={
    **ACCOUNT, "repositories_added[].full_name?": "str",
    "repositories_removed[].full_name?": "str"})
def on_repositories(ctx: Context, _job: object) -> None:
    inst = ctx.payload["installation"]
    inst_id = int(inst["id"])
    account = inst.get("account") or {}
    installations.upsert(ctx.runtime.db, installation_id=inst_id,
                         account=str(account.get("login", "")),
                         account_type=str(account.get("type", "")),
                         suspended=bool(inst.get("suspended_at")))
    installations.add_repos(ctx.runtime.db, inst_id, _names(ctx.payload.get("repositories_added")))
    installations.remove_repos(ctx.runtime.db, inst_id,
                               _names(ctx.payload.get("repositories_removed")))
