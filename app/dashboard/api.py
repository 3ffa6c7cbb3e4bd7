"""JSON for scripts at /api/...: the pages' data, behind the same sign-in or an API token
(`Authorization: Bearer infrar_...`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, g, jsonify, request

from infrar.app.dashboard import actions, queries
from infrar.app.dashboard.auth import Gate, Refusal

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime


def register(bp: Blueprint, runtime: Runtime, gate: Gate) -> None:
    def found(value: Any) -> Any:
        if value is None:
            abort(404)
        return jsonify(value)

    @bp.get("/api/me")
    @gate.api
    def api_me() -> Any:
        access = g.operator.access
        return jsonify({"login": access.login, "repos": sorted(access.repos),
                        "admin_of": sorted(i for i in access.installations
                                           if access.admin_of(i))})

    @bp.get("/api/installations")
    @gate.api
    def api_installations() -> Any:
        return jsonify(queries.installations(runtime, g.operator))

    @bp.get("/api/installations/<int:installation_id>/settings")
    @gate.api
    def api_installation(installation_id: int) -> Any:
        settings = queries.installation_settings(runtime, g.operator, installation_id)
        if settings is None:
            raise Refusal(403, "only admins of the installation's account see its settings")
        return jsonify(settings)

    @bp.get("/api/repos/<owner>/<name>")
    @gate.api
    def api_repo(owner: str, name: str) -> Any:
        full_name = f"{owner}/{name}"
        if not g.operator.access.can_see(full_name):
            abort(404)
        return jsonify(queries.repo(runtime, g.operator, full_name))

    @bp.post("/api/repos/<owner>/<name>/locks/<environment>/unlock")
    @gate.api
    def api_unlock(owner: str, name: str, environment: str) -> Any:
        try:
            message = actions.unlock(runtime, g.operator, repo=f"{owner}/{name}",
                                     environment=environment,
                                     project=request.args.get("project", ""))
        except actions.Refused as exc:
            raise Refusal(exc.status, str(exc)) from None
        return jsonify({"ok": True, "message": message})

    @bp.get("/api/jobs")
    @gate.api
    def api_jobs() -> Any:
        return jsonify(queries.jobs(runtime, g.operator))

    @bp.get("/api/jobs/<job_id>")
    @gate.api
    def api_job(job_id: str) -> Any:
        return found(queries.job(runtime, g.operator, job_id))

    @bp.post("/api/jobs/<job_id>/retry")
    @gate.api
    def api_retry(job_id: str) -> Any:
        try:
            message = actions.retry(runtime, g.operator, job_id)
        except actions.Refused as exc:
            raise Refusal(exc.status, str(exc)) from None
        return jsonify({"ok": True, "message": message})

    @bp.get("/api/plans/<int:plan_id>")
    @gate.api
    def api_plan(plan_id: int) -> Any:
        return found(queries.plan(runtime, g.operator, plan_id))

    @bp.get("/api/audit")
    @gate.api
    def api_audit_log() -> Any:
        return jsonify(queries.audit_log(runtime, g.operator))
