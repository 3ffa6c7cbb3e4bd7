"""The pages: server-rendered, every one behind sign-in, every change a POST with CSRF."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from infrar.app.dashboard import actions, principals, queries
from infrar.app.dashboard.access import check, for_token
from infrar.app.dashboard.auth import CSRF_FIELD, Gate, Refusal, is_loopback, safe_next
from infrar.app.dashboard.github_user import (
    GitHubUserError,
    UserClient,
    authorize_url,
    exchange_code,
)
from infrar.app.dashboard.stream import Busy, Stream
from infrar.app.state import audit

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

NOTICES = {
    "unlocked": "The lock is released and the pull request told so.",
    "retried": "The job is queued again.",
    "revoked": "The token is revoked.",
}


def register(bp: Blueprint, runtime: Runtime, gate: Gate) -> None:
    settings = runtime.settings

    def render(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
        op = g.get("operator")
        notice = NOTICES.get(request.args.get("notice", ""))
        return render_template(template, op=op, csrf_field=CSRF_FIELD,
                               csrf=op.csrf if op else "", notice=notice, **values), status

    @bp.errorhandler(HTTPException)
    def refused(error: HTTPException) -> Any:
        code = error.code or 500
        message = error.message if isinstance(error, Refusal) else (error.name or "error")
        if request.path.startswith("/api/") or request.path.endswith("/events"):
            return jsonify({"error": message}), code
        return render("error.html", code, code=code, message=message)

    # -- signing in ----------------------------------------------------------------------------

    def callback_url() -> str:
        """Where GitHub sends the browser back: https, as registered, whether the App serves
        TLS itself or sits behind a proxy that does; plain http on loopback only."""
        scheme = request.scheme if is_loopback(request.host) else "https"
        return url_for("dashboard.callback", _external=True, _scheme=scheme)

    @bp.get("/sign-in")
    def sign_in() -> Any:
        configured = bool(settings.github_client_id and settings.github_client_secret)
        return render("sign_in.html", configured=configured,
                      next=safe_next(request.args.get("next", "/")))

    @bp.get("/sign-in/github")
    def sign_in_start() -> Response:
        if not settings.github_client_id:
            abort(404)
        state = secrets.token_urlsafe(32)
        target = authorize_url(settings.web_url, client_id=settings.github_client_id,
                               redirect_uri=callback_url(),
                               state=state)
        response = redirect(target)
        gate.remember_sign_in(response, state, safe_next(request.args.get("next", "/")))
        return response

    @bp.get("/auth/callback")
    def callback() -> Any:
        pending = gate.pending_sign_in()
        given = request.args.get("state", "")
        if pending is None or not secrets.compare_digest(given.encode(),
                                                         pending[0].encode()):
            raise Refusal(400, "the sign-in was not started here, or took too long; try again")
        if not runtime.vault.can_seal:
            raise Refusal(503, "the App has no encryption key (INFRAR_ENCRYPTION_KEY), so it "
                          "cannot keep sign-ins")
        try:
            tokens = exchange_code(settings.web_url, client_id=settings.github_client_id,
                                   client_secret=settings.github_client_secret,
                                   code=request.args.get("code", ""),
                                   redirect_uri=callback_url())
            access = check(UserClient(settings.api_url, tokens.access))
        except GitHubUserError as exc:
            raise Refusal(502, str(exc)) from None
        value, op = principals.issue(runtime.db, runtime.vault, kind=principals.SESSION,
                                     access=access, grant=tokens.to_json())
        audit.record(runtime.db, actor=op.login, action="sign-in", target="dashboard",
                     outcome=f"{len(access.repos)} repositories with write access")
        response = redirect(pending[1])
        gate.start_session(response, value)
        response.delete_cookie("infrar_sign_in", path="/")
        return response

    @bp.post("/sign-out")
    @gate.page
    def sign_out() -> Response:
        principals.revoke(runtime.db, g.operator.key_hash)
        response = redirect(url_for("dashboard.sign_in"))
        gate.end_session(response)
        return response

    # -- pages ---------------------------------------------------------------------------------

    @bp.get("/")
    @gate.page
    def home() -> Any:
        return render("home.html", installations=queries.installations(runtime, g.operator))

    @bp.get("/repos/<owner>/<name>")
    @gate.page
    def repo(owner: str, name: str) -> Any:
        full_name = f"{owner}/{name}"
        if not g.operator.access.can_see(full_name):
            abort(404)
        return render("repo.html", repo=queries.repo(runtime, g.operator, full_name))

    @bp.post("/repos/<owner>/<name>/locks/<environment>/unlock")
    @gate.page
    def unlock(owner: str, name: str, environment: str) -> Response:
        try:
            actions.unlock(runtime, g.operator, repo=f"{owner}/{name}", environment=environment,
                           project=request.form.get("project", ""))
        except actions.Refused as exc:
            raise Refusal(exc.status, str(exc)) from None
        return redirect(url_for("dashboard.repo", owner=owner, name=name, notice="unlocked"))

    @bp.get("/jobs")
    @gate.page
    def jobs() -> Any:
        return render("jobs.html", jobs=queries.jobs(runtime, g.operator))

    @bp.get("/jobs/<job_id>")
    @gate.page
    def job(job_id: str) -> Any:
        found = queries.job(runtime, g.operator, job_id)
        if found is None:
            abort(404)
        return render("job.html", job=found)

    @bp.get("/jobs/<job_id>/events")
    @gate.api
    def job_events(job_id: str) -> Any:
        if not queries.job_visible(runtime, g.operator, job_id):
            abort(404)
        raw = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
        after = int(raw) if raw.isdigit() else 0
        try:
            events = Stream(runtime, job_id, after=after)
        except Busy:
            raise Refusal(503, "too many live streams; reload later") from None
        return Response(events, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @bp.post("/jobs/<job_id>/retry")
    @gate.page
    def retry(job_id: str) -> Response:
        try:
            actions.retry(runtime, g.operator, job_id)
        except actions.Refused as exc:
            raise Refusal(exc.status, str(exc)) from None
        return redirect(url_for("dashboard.job", job_id=job_id, notice="retried"))

    @bp.get("/plans/<int:plan_id>")
    @gate.page
    def plan(plan_id: int) -> Any:
        found = queries.plan(runtime, g.operator, plan_id)
        if found is None:
            abort(404)
        return render("plan.html", plan=found)

    @bp.get("/audit")
    @gate.page
    def audit_page() -> Any:
        return render("audit.html", entries=queries.audit_log(runtime, g.operator))

    @bp.get("/installations/<int:installation_id>")
    @gate.page
    def installation(installation_id: int) -> Any:
        found = queries.installation_settings(runtime, g.operator, installation_id)
        if found is None:
            raise Refusal(403, "only admins of the installation's account see its settings")
        return render("installation.html", inst=found)

    # -- API tokens ----------------------------------------------------------------------------

    def settings_page(new_token: str | None = None, status: int = 200) -> Any:
        op = g.operator
        return render("settings.html", status, tokens=principals.tokens_of(runtime.db, op.login),
                      new_token=new_token)

    @bp.get("/settings")
    @gate.page
    def settings_view() -> Any:
        return settings_page()

    @bp.post("/settings/tokens")
    @gate.page
    def create_token() -> Any:
        op = g.operator
        name = request.form.get("name", "").strip()[:100] or "token"
        value, _ = principals.issue(runtime.db, runtime.vault, kind=principals.TOKEN,
                                    access=for_token(op.access), name=name)
        audit.record(runtime.db, actor=op.login, action="create-token", target=name,
                     outcome="created")
        return settings_page(new_token=value, status=201)

    @bp.post("/settings/tokens/<key_hash>/revoke")
    @gate.page
    def revoke_token(key_hash: str) -> Response:
        op = g.operator
        done = principals.revoke(runtime.db, key_hash, login=op.login)
        audit.record(runtime.db, actor=op.login, action="revoke-token", target=key_hash[:12],
                     outcome="revoked" if done else "not found")
        return redirect(url_for("dashboard.settings_view", notice="revoked"))
