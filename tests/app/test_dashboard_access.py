"""Who gets what from the dashboard, through the App's Flask app and the GitHub fake: nothing
for anyone not signed in (every route the dashboard has, pages and /api alike), nothing of a
repository for a user without write access to it, no change without the session's CSRF token,
sign-in only from a flow this App started (`state`), cookies signed and flagged, access
re-checked against GitHub, API tokens stored hashed and revocable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from dashboard_support import CSRF, dashboard_env
from fake_github import FakeGitHub
from flask import Flask
from flask.testing import FlaskClient

from infrar.app.runtime import Runtime
from infrar.app.server import create_app
from infrar.app.settings import Settings
from infrar.app.state import audit, deliveries, locks, plans

REPO, HIDDEN = "acme/photos", "acme/hidden"


class _HostClient(FlaskClient):
    """A test client speaking to one host (loopback or not)."""

    def __init__(self, *args: Any, base_url: str = "http://localhost", **kwargs: Any) -> None:
        self.base_url = base_url
        super().__init__(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", self.base_url)
        return super().open(*args, **kwargs)


@dataclass
class Dash:
    fake: FakeGitHub
    runtime: Runtime
    app: Flask
    plan_id: int
    data: Path

    def client(self, base_url: str = "http://localhost") -> FlaskClient:
        self.app.test_client_class = _HostClient
        return self.app.test_client(base_url=base_url)

    def sign_in(self, login: str, base_url: str = "http://localhost", *,
                start_at: str = "/sign-in/github") -> FlaskClient:
        """Signed in through the OAuth flow, and sent back to this site's front page."""
        client = self.client(base_url)
        self.fake.browser_login = login
        start = client.get(start_at)
        assert start.status_code == 302
        at_github = requests.get(start.headers["Location"], allow_redirects=False, timeout=30)
        back = urlsplit(at_github.headers["Location"])
        answer = client.get(f"{back.path}?{back.query}")
        assert answer.status_code == 302 and answer.headers["Location"] == "/", answer.text
        return client

    def lock_held(self) -> bool:
        return locks.get(self.runtime.db, repo=REPO, environment="production") is not None

    def job_status(self) -> str | None:
        return deliveries.status(self.runtime.db, "failed-1")


def _dash(fake: FakeGitHub, app_env: dict[str, str], **extra: str) -> Dash:
    env = {**app_env, **dashboard_env(fake), **extra}
    runtime = Runtime.from_settings(Settings.from_env(env))
    fake.create_repo(REPO, {"README.md": "# photos\n"})
    fake.create_repo(HIDDEN, {"README.md": "# hidden\n"})
    fake.repos[REPO].permissions.update(alice="write", mallory="read")
    fake.repos[HIDDEN].permissions.update(bob="write")
    pull = fake.open_pull(REPO, "feature", {"a.txt": "a\n"})
    db = runtime.db
    locks.acquire(db, repo=REPO, environment="production", pr=pull.number, holder="alice",
                  url=f"{fake.url}/{REPO}/pull/1")
    plan_id = plans.save(db, runtime.vault, repo=REPO, pr=pull.number, environment="production",
                         provider="local", head_sha=pull.head_sha, digest="d" * 64,
                         archive=b"archive", headline="Plan: 1 to add", has_changes=True,
                         delivery_id="planned-1", cost="$4.20 / month")
    deliveries.record(db, delivery_id="failed-1", event="issue_comment", action="created",
                      subject=f"{REPO}#1", error="boom",
                      payload=(b'{"repository": {"full_name": "%s"}, "installation": {"id": %d}}'
                               % (REPO.encode(), fake.installation_id)))
    return Dash(fake, runtime, create_app(runtime), plan_id, Path(env["INFRAR_DATA_DIR"]))


@pytest.fixture
def dash(fake: FakeGitHub, app_env: dict[str, str]) -> Iterator[Dash]:
    yield _dash(fake, app_env)


def _csrf(client: FlaskClient, page: str = "/settings") -> str:
    found = CSRF.search(client.get(page).text)
    assert found
    return found.group(1)


def _routes(dash: Dash) -> list[tuple[str, str]]:
    """Every route of the dashboard but signing in and its stylesheet, filled in."""
    values: dict[str, Any] = {"owner": "acme", "name": "photos", "environment": "production",
                              "job_id": "failed-1", "plan_id": dash.plan_id,
                              "installation_id": dash.fake.installation_id, "key_hash": "0" * 64}
    open_routes = {"dashboard.sign_in", "dashboard.sign_in_start", "dashboard.callback",
                   "dashboard.static"}
    found = []
    for rule in dash.app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard.") or rule.endpoint in open_routes:
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((method, path))
    return found


def test_no_sign_in_no_data(dash: Dash) -> None:
    client = dash.client()
    routes = _routes(dash)
    assert len(routes) >= 20 and ("POST", "/jobs/failed-1/retry") in routes
    for method, path in routes:
        answer = client.open(path, method=method)
        if path.startswith("/api/") or path.endswith("/events"):
            assert answer.status_code == 401, (method, path)
            assert answer.json == {"error": "sign-in required"}, (method, path)
        else:
            assert answer.status_code == 302, (method, path, answer.status_code)
            assert answer.headers["Location"].startswith("/sign-in?next="), (method, path)
        # Data of the repository (its job's error, its plan, who holds its lock): none.
        for data in (b"boom", b"Plan: 1 to add", b"alice"):
            assert data not in answer.data, (method, path, data)
    assert dash.lock_held() and dash.job_status() == "failed"
    # A forged or tampered session cookie is no sign-in either.
    client.set_cookie("infrar_session", "made-up.signature")
    assert client.get("/api/me").status_code == 401
    signed = dash.sign_in("alice")
    value = signed.get_cookie("infrar_session")
    assert value is not None
    client.set_cookie("infrar_session", value.value[:-2] + "xx")
    assert client.get("/").status_code == 302 and client.get("/api/me").status_code == 401


def test_sign_in_only_from_a_flow_started_here(dash: Dash) -> None:
    client = dash.client()
    assert client.get("/auth/callback?code=abc&state=xyz").status_code == 400
    start = client.get("/sign-in/github")
    assert start.status_code == 302
    state = re.search(r"state=([^&]+)", start.headers["Location"])
    assert state
    at_github = requests.get(start.headers["Location"], allow_redirects=False, timeout=30)
    code = re.search(r"code=([^&]+)", at_github.headers["Location"])
    assert code
    refused = client.get(f"/auth/callback?code={code.group(1)}&state=not-{state.group(1)}")
    assert refused.status_code == 400 and client.get_cookie("infrar_session") is None
    assert client.get("/api/me").status_code == 401
    # The real flow lands on this site only, whatever `next` said.
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        fine = dash.sign_in("alice", start_at=f"/sign-in/github?next={elsewhere}")
        assert fine.get("/api/me").json["login"] == "alice"


def test_cookies_are_signed_http_only_lax_and_secure(fake: FakeGitHub,
                                                     app_env: dict[str, str]) -> None:
    strict = _dash(fake, app_env, INFRAR_INSECURE_COOKIES="")
    for base in ("http://127.0.0.1", "https://dashboard.example"):
        flags = strict.client(base).get("/sign-in/github").headers["Set-Cookie"]
        assert "HttpOnly" in flags and "SameSite=Lax" in flags and "Secure" in flags, flags
    # Plain http is allowed only on loopback, with INFRAR_INSECURE_COOKIES.
    relaxed = Dash(fake, Runtime.from_settings(Settings.from_env(
        {**app_env, **dashboard_env(fake)})), strict.app, strict.plan_id, strict.data)
    relaxed.app = create_app(relaxed.runtime)
    for base, secure in (("http://127.0.0.1", False), ("http://dashboard.example", True)):
        start = relaxed.client(base).get("/sign-in/github")
        flags = start.headers["Set-Cookie"]
        assert ("Secure" in flags) is secure and "HttpOnly" in flags, (base, flags)
        # GitHub is told to come back over https (TLS here or at a proxy), http on loopback.
        back = "http%3A%2F%2F127.0.0.1" if not secure else "https%3A%2F%2Fdashboard.example"
        assert f"redirect_uri={back}%2Fauth%2Fcallback&" in start.headers["Location"]
    signed = relaxed.sign_in("alice", "http://127.0.0.1")
    session = signed.get_cookie("infrar_session", domain="127.0.0.1")
    assert session is not None and session.http_only and session.same_site == "Lax"
    value, _, signature = session.value.rpartition(".")
    assert value and signature  # the random session id, signed with the session key


def test_users_see_only_what_they_may_write(dash: Dash) -> None:
    alice, bob, mallory = dash.sign_in("alice"), dash.sign_in("bob"), dash.sign_in("mallory")
    assert alice.get("/api/me").json["repos"] == [REPO]
    assert bob.get("/api/me").json["repos"] == [HIDDEN]
    assert mallory.get("/api/me").json["repos"] == []  # read access is not enough
    assert REPO in alice.get("/").text and HIDDEN not in alice.get("/").text
    assert "$4.20 / month" in alice.get(f"/repos/{REPO}").text
    assert alice.get(f"/api/plans/{dash.plan_id}").json["cost"] == "$4.20 / month"
    assert REPO not in mallory.get("/").text
    for client in (bob, mallory):
        for path in (f"/repos/{REPO}", f"/plans/{dash.plan_id}", "/jobs/failed-1",
                     f"/api/repos/{REPO}", f"/api/plans/{dash.plan_id}", "/api/jobs/failed-1"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert b"boom" not in answer.data and b"Plan: 1 to add" not in answer.data, path
        assert "failed-1" not in client.get("/jobs").text
        assert client.get("/api/jobs").json == []
        csrf = _csrf(client)
        assert client.post(f"/repos/{REPO}/locks/production/unlock",
                           data={"csrf_token": csrf}).status_code == 404
        assert client.post("/jobs/failed-1/retry", data={"csrf_token": csrf}).status_code == 404
    assert dash.lock_held() and dash.job_status() == "failed"
    # Installation settings: admins of the account only.
    assert alice.get("/installations/77").status_code == 403
    assert alice.get("/api/installations/77/settings").status_code == 403
    dash.fake.org_roles["acme"] = {"alice": "admin"}
    admin = dash.sign_in("alice")
    assert admin.get("/installations/77").status_code == 200
    assert admin.get("/api/installations/77/settings").json["account"] == "acme"


def test_changes_need_the_sessions_csrf_token(dash: Dash) -> None:
    alice, bob = dash.sign_in("alice"), dash.sign_in("bob")
    unlock = f"/repos/{REPO}/locks/production/unlock"
    for form in ({}, {"csrf_token": ""}, {"csrf_token": "wrong"},
                 {"csrf_token": _csrf(bob)}):
        answer = alice.post(unlock, data=form)
        assert answer.status_code == 403 and b"CSRF" in answer.data, form
        assert alice.post("/jobs/failed-1/retry", data=form).status_code == 403
        assert alice.post("/api/jobs/failed-1/retry", headers={
            "X-CSRF-Token": form.get("csrf_token", "")}).status_code == 403
    assert dash.lock_held() and dash.job_status() == "failed"
    assert not [e for e in audit.recent(dash.runtime.db, repos=[REPO], actor="alice")
                if e.action != "sign-in"]
    answer = alice.post(unlock, data={"csrf_token": _csrf(alice)})
    assert answer.status_code == 302 and "notice=unlocked" in answer.headers["Location"]
    assert not dash.lock_held()
    told = [c["body"] for c in dash.fake.bot_comments(REPO, 1)]
    assert len(told) == 1 and "Released 1 lock(s)" in told[0]
    entries = audit.recent(dash.runtime.db, repos=[REPO], actor="alice")
    assert [(e.actor, e.action, e.outcome) for e in entries][0] == (
        "alice", "unlock", "released; comment posted")
    assert "unlock" in alice.get("/audit").text
    # A project's lock, by the API with the session's CSRF header.
    locks.acquire(dash.runtime.db, repo=REPO, environment="production", pr=1, holder="alice",
                  url="u", project="api")
    answer = alice.post(f"/api/repos/{REPO}/locks/production/unlock?project=api",
                        headers={"X-CSRF-Token": _csrf(alice)})
    assert answer.status_code == 200, answer.json
    assert locks.get(dash.runtime.db, repo=REPO, environment="production", project="api") is None
    assert "of project <code>api</code>" in dash.fake.bot_comments(REPO, 1)[-1]["body"]


def test_access_is_checked_again(fake: FakeGitHub, app_env: dict[str, str]) -> None:
    dash = _dash(fake, app_env, INFRAR_ACCESS_RECHECK_SECONDS="0")
    alice = dash.sign_in("alice")
    created = alice.post("/settings/tokens", data={"csrf_token": _csrf(alice), "name": "ci"})
    found = re.search(r'id="new-token">([^<]+)<', created.text)
    assert found
    bearer = {"Authorization": f"Bearer {found.group(1).strip()}"}
    script = dash.client()
    assert alice.get("/api/me").json["repos"] == [REPO]
    assert script.get("/api/me", headers=bearer).json["repos"] == [REPO]
    fake.repos[REPO].permissions["alice"] = "read"
    assert alice.get("/api/me").json["repos"] == []
    assert alice.get(f"/repos/{REPO}").status_code == 404
    # The API token is checked with the App's own token, as the commands check a commenter.
    assert script.get("/api/me", headers=bearer).json["repos"] == []
    assert script.get(f"/api/repos/{REPO}", headers=bearer).status_code == 404
    fake.repos[REPO].permissions["alice"] = "write"
    assert alice.get("/api/me").json["repos"] == [REPO]
    # An expired user token is renewed with its refresh token, unseen.
    fake.user_tokens.clear()
    assert alice.get("/api/me").json["repos"] == [REPO]
    assert len(fake.user_tokens) == 1
    # The user revoked the App's access on GitHub: signed out.
    fake.user_tokens.clear()
    fake.refresh_tokens.clear()
    assert alice.get("/").status_code == 302
    assert alice.get("/api/me").status_code == 401


def test_api_tokens_are_shown_once_stored_hashed_and_revocable(dash: Dash) -> None:
    alice = dash.sign_in("alice")
    created = alice.post("/settings/tokens", data={"csrf_token": _csrf(alice), "name": "ci"})
    assert created.status_code == 201
    found = re.search(r'id="new-token">([^<]+)<', created.text)
    assert found
    token = found.group(1).strip()
    assert token not in alice.get("/settings").text
    script = dash.client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/me", headers=bearer).json["login"] == "alice"
    assert script.get("/", headers=bearer).status_code == 302  # pages want a browser session
    script.set_cookie("infrar_session", token)
    assert script.get("/api/me").status_code == 401
    script.delete_cookie("infrar_session")
    # Scripts send no cookie, so they need no CSRF token.
    retried = script.post("/api/jobs/failed-1/retry", headers=bearer)
    assert retried.status_code == 200 and dash.job_status() == "queued"
    database = (dash.data / "infrar.db").read_bytes()
    assert token.encode() not in database and token[7:].encode() not in database
    bob = dash.sign_in("bob")
    key_hash = re.search(r"/settings/tokens/([0-9a-f]{64})/revoke", alice.get("/settings").text)
    assert key_hash
    bob.post(f"/settings/tokens/{key_hash.group(1)}/revoke", data={"csrf_token": _csrf(bob)})
    assert script.get("/api/me", headers=bearer).status_code == 200  # only its owner revokes
    alice.post(f"/settings/tokens/{key_hash.group(1)}/revoke",
               data={"csrf_token": _csrf(alice)})
    assert script.get("/api/me", headers=bearer).status_code == 401
    # Signing out ends the session on the server too.
    cookie = alice.get_cookie("infrar_session")
    assert cookie is not None
    alice.post("/sign-out", data={"csrf_token": _csrf(alice)})
    replay = dash.client()
    replay.set_cookie("infrar_session", cookie.value)
    assert replay.get("/api/me").status_code == 401


def test_drift_status_shows_what_the_rounds_found(dash: Dash) -> None:
    from infrar.app.state import drift

    alice = dash.sign_in("alice")
    assert alice.get(f"/api/repos/{REPO}").json["drift"] == {
        "tracked": True, "columns": ["project", "environment", "schedule", "last_checked",
                                     "outcome"], "rows": []}
    assert "No drift check has run yet" in alice.get(f"/repos/{REPO}").text
    db = dash.runtime.db
    drift.record_scan(db, REPO, head_sha="a" * 40, scheduled={("", "production"): "daily"})
    assert drift.acquire(db, repo=REPO, project="", environment="production", holder="w1",
                         lease=60)
    drift.release(db, repo=REPO, project="", environment="production", holder="w1",
                  outcome="drifted")
    [row] = alice.get(f"/api/repos/{REPO}").json["drift"]["rows"]
    assert row["environment"] == "production" and row["outcome"] == "drifted"
    assert row["schedule"] == "daily" and row["last_checked"] != "never"
    assert "drifted" in alice.get(f"/repos/{REPO}").text
