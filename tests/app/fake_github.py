"""A GitHub for the App to talk to: the REST routes it uses, under GHES-style `/api/v3`, the
GraphQL it uses (the `minimizeComment` mutation and the `viewer` query, at `/api/graphql`), and
git over smart HTTP, all on a free loopback port. It checks what real GitHub checks (App JWTs,
installation tokens, review lines inside the diff) and records every call, so tests can hold
the App's calls against GitHub's published REST description (GraphQL calls are recorded as
POST /graphql)."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_git import GitRepos
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from infrar.app.signature import sign

API = "/api/v3"
GRAPHQL = "/api/graphql"  # where GitHub Enterprise Server has it; api.github.com/graphql
APP_SLUG = "infrar"
BOT = {"login": f"{APP_SLUG}[bot]", "id": 9000, "type": "Bot"}  # the App's own user
OTHER_BOT = {"login": "other-app[bot]", "id": 9001, "type": "Bot"}  # some other App's
CLASSIFIERS = ("SPAM", "ABUSE", "OFF_TOPIC", "OUTDATED", "DUPLICATE", "RESOLVED")
ISSUE_NUMBERS = 501
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


def user(login: str) -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}


@dataclass
class Pull:
    number: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    author: str
    title: str = "Change"
    draft: bool = False
    state: str = "open"
    merged: bool = False
    mergeable: bool | None = True
    fork: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Repo:
    full_name: str
    id: int
    permissions: dict[str, str] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Issues (not pull requests), numbered from ISSUE_NUMBERS so none shares a pull's number."""


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status: int


class FakeGitHub:
    def __init__(self, root: Path, *, app_id: int = 4242, installation_id: int = 77) -> None:
        self.git = GitRepos(root)
        self.app_id, self.installation_id = app_id, installation_id
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()).decode()
        self._public = key.public_key()
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, float] = {}
        self.token_prefix = "ghs_"  # what issued installation tokens start with
        self.calls: list[Call] = []
        self.git_calls: list[tuple[str, str, bool]] = []
        self.bodies: list[bytes] = []  # every request body received (API, GraphQL and git)
        self.minimized: dict[str, str] = {}  # node id -> classifier
        self.minimizable = {"PRR", "IC"}  # node kinds; drop "PRR" for a GHES without it
        self.holds: dict[tuple[str, str], threading.Event] = {}
        self.failures: dict[tuple[str, str], int] = {}  # (method, suffix) -> status, once
        self.held = threading.Event()
        # Sign-in (OAuth web flow and user-to-server REST): who is signed in to GitHub in the
        # browser, the App's OAuth client, org roles ({org: {login: "admin"|"member"}}).
        self.oauth_client = ("Iv1.fakeclient", "fake-client-secret")
        self.browser_login = "alice"
        self.org_roles: dict[str, dict[str, str]] = {}
        self.teams: dict[tuple[str, str], set[str]] = {}  # (org, team slug) -> active members
        self.account_type = "Organization"
        self.oauth_codes: dict[str, str] = {}
        self.user_tokens: dict[str, str] = {}  # token -> login
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> login (each used once)
        # Registration from a manifest: pending codes, the manifests converted, and the
        # webhook secret GitHub generates for the new App.
        self.manifests: dict[str, dict[str, Any]] = {}
        self.registered: list[dict[str, Any]] = []
        self.manifest_webhook_secret = secrets.token_hex(20)
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle and test driving ------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        for event in self.holds.values():
            event.set()
        self._server.shutdown()

    @property
    def api_url(self) -> str:
        return self.url + API

    def clone_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}.git"

    def create_repo(self, full_name: str, files: dict[str, str]) -> Repo:
        self.git.create(full_name, files)
        repo = Repo(full_name, next(self._ids))
        self.repos[full_name] = repo
        return repo

    def open_pull(self, full_name: str, branch: str, files: dict[str, str | None], *,
                  author: str = "alice", draft: bool = False, fork: str | None = None,
                  links: dict[str, str] | None = None) -> Pull:
        head = self.git.commit(full_name, branch, files, message=f"work on {branch}",
                               links=links)
        repo = self.repos[full_name]
        number = len(repo.pulls) + 1
        pull = Pull(number, branch, head, "main", self.git.rev(full_name, "refs/heads/main"),
                    author, draft=draft, fork=fork)
        repo.pulls[number] = pull
        self.git.set_ref(full_name, f"refs/pull/{number}/head", head)
        return pull

    def push_to_pull(self, full_name: str, number: int, files: dict[str, str | None]) -> str:
        pull = self.repos[full_name].pulls[number]
        pull.head_sha = self.git.commit(full_name, pull.head_ref, files, message="more work")
        self.git.set_ref(full_name, f"refs/pull/{number}/head", pull.head_sha)
        return pull.head_sha

    def merge_pull(self, full_name: str, number: int) -> str:
        pull = self.repos[full_name].pulls[number]
        pull.merge_commit_sha = self.git.merge(full_name, pull.head_sha, pull.base_ref)
        pull.state, pull.merged = "closed", True
        return pull.merge_commit_sha

    def approve(self, full_name: str, number: int, reviewer: str) -> None:
        pull = self.repos[full_name].pulls[number]
        self._add_review(self.repos[full_name], number, user(reviewer), "APPROVED", "LGTM",
                         pull.head_sha, [])

    def hold(self, method: str, suffix: str) -> threading.Event:
        """Do the work of the next matching call, then keep its answer until released."""
        event = threading.Event()
        self.holds[(method, suffix)] = event
        return event

    def fail_once(self, method: str, suffix: str, status: int = 502) -> None:
        """Answer the next matching call with `status` (GitHub having a bad moment)."""
        self.failures[(method, suffix)] = status

    def deliver(self, app_url: str, secret: bytes, event: str, payload: dict[str, Any],
                delivery: str | None = None) -> requests.Response:
        body = json.dumps(payload).encode()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or secrets.token_hex(16),
                   "X-Hub-Signature-256": sign(secret, body), "Content-Type": "application/json"}
        return requests.post(f"{app_url}/webhook", data=body, headers=headers, timeout=30)

    def bot_reviews(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """The App's own reviews."""
        return [r for r in self.repos[full_name].reviews.get(number, [])
                if r["user"]["login"] == BOT["login"]]

    def bot_comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """The App's own comments."""
        return [c for c in self.repos[full_name].comments.get(number, [])
                if c["user"]["login"] == BOT["login"]]

    # -- JSON shapes ---------------------------------------------------------------------------

    def repo_json(self, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/")
        return {"id": self.repos[full_name].id, "name": name, "full_name": full_name,
                "owner": user(owner), "private": False, "default_branch": "main",
                "html_url": f"{self.url}/{full_name}", "clone_url": self.clone_url(full_name),
                "url": f"{self.api_url}/repos/{full_name}"}

    def pull_json(self, full_name: str, pull: Pull) -> dict[str, Any]:
        head_repo = self.repo_json(full_name) | (
            {"full_name": pull.fork, "fork": True} if pull.fork else {})
        return {
            "url": f"{self.api_url}/repos/{full_name}/pulls/{pull.number}",
            "issue_url": f"{self.api_url}/repos/{full_name}/issues/{pull.number}",
            "id": pull.number * 11, "number": pull.number, "state": pull.state,
            "title": pull.title, "draft": pull.draft, "merged": pull.merged,
            "mergeable": pull.mergeable, "merge_commit_sha": pull.merge_commit_sha,
            "html_url": f"{self.url}/{full_name}/pull/{pull.number}", "user": user(pull.author),
            "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": head_repo,
                     "label": f"x:{pull.head_ref}", "user": user(pull.author)},
            "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": self.repo_json(full_name),
                     "label": f"x:{pull.base_ref}", "user": user(full_name.split('/')[0])},
        }

    # -- the server ----------------------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake-github")
        fake = self

        @app.before_request
        def authenticate() -> Response | None:
            path = request.path
            failing = next((k for k in fake.failures
                            if k[0] == request.method and path.endswith(k[1])), None)
            if failing is not None:
                return _error(fake.failures.pop(failing), "Server Error")
            if not path.startswith(API) and path != GRAPHQL:
                return None
            if path.startswith(f"{API}/app-manifests/"):
                return None  # the manifest flow's code is the credential
            header = request.headers.get("Authorization", "")
            if path == f"{API}/app" or path.startswith(f"{API}/app/"):
                ok = header.startswith("Bearer ") and fake._valid_jwt(header[7:])
            elif path == f"{API}/user" or path.startswith(f"{API}/user/"):
                ok = header.startswith(("Bearer ", "token ")) and (
                    header.split(" ", 1)[1] in fake.user_tokens)
            else:
                ok = header.startswith("token ") and fake._valid_token(header[6:])
            if not ok:
                return _error(401, "Bad credentials")
            return None

        @app.after_request
        def record(response: Response) -> Response:
            fake.bodies.append(request.get_data())
            if request.path == GRAPHQL:
                fake.calls.append(Call(request.method, "/graphql", response.status_code))
            if request.path.startswith(API):
                fake.calls.append(Call(request.method, request.path[len(API):],
                                       response.status_code))
                hold = next((e for (m, suffix), e in fake.holds.items()
                             if m == request.method and request.path.endswith(suffix)), None)
                if hold is not None and response.status_code < 300:
                    del fake.holds[next(k for k, v in fake.holds.items() if v is hold)]
                    fake.held.set()
                    hold.wait(60)
            return response

        @app.get(f"{API}/app")
        def the_app() -> Any:
            return jsonify({"id": fake.app_id, "slug": APP_SLUG, "node_id": "A_1",
                            "name": "Infrar", "owner": user("acme"), "description": "",
                            "external_url": fake.url, "html_url": f"{fake.url}/apps/{APP_SLUG}",
                            "created_at": "2026-01-01T00:00:00Z",
                            "updated_at": "2026-01-01T00:00:00Z",
                            "permissions": {}, "events": []})

        @app.post(f"{API}/app/installations/<int:inst>/access_tokens")
        def access_token(inst: int) -> tuple[Response, int]:
            if inst != fake.installation_id:
                return _error(404, "Not Found")
            token = fake.token_prefix + secrets.token_hex(18)
            expires = time.time() + 3600
            fake.tokens[token] = expires
            issued = dt.datetime.fromtimestamp(expires, dt.timezone.utc)
            stamp = issued.strftime("%Y-%m-%dT%H:%M:%SZ")
            return jsonify({"token": token, "expires_at": stamp, "permissions": {},
                            "repository_selection": "all"}), 201

        @app.get(f"{API}/repos/<owner>/<name>/pulls/<int:number>")
        def get_pull(owner: str, name: str, number: int) -> Any:
            full, pull = fake._pull(owner, name, number)
            return jsonify(fake.pull_json(full, pull))

        @app.get(f"{API}/repos/<owner>/<name>/pulls/<int:number>/files")
        def pull_files(owner: str, name: str, number: int) -> Any:
            full, pull = fake._pull(owner, name, number)
            return jsonify(fake.git.diff_files(full, pull.base_sha, pull.head_sha))

        @app.get(f"{API}/repos/<owner>/<name>/commits/<ref>")
        def get_commit(owner: str, name: str, ref: str) -> Any:
            full = fake._repo(owner, name).full_name
            sha = fake.git.rev(full, ref)
            return jsonify({"sha": sha, "url": f"{fake.api_url}/repos/{full}/commits/{sha}",
                            "commit": {"message": fake.git.message(full, sha)}})

        @app.get(f"{API}/repos/<owner>/<name>/pulls/<int:number>/reviews")
        def list_reviews(owner: str, name: str, number: int) -> Any:
            repo = fake._repo(owner, name)
            return jsonify(repo.reviews.get(number, []))

        @app.post(f"{API}/repos/<owner>/<name>/pulls/<int:number>/reviews")
        def create_review(owner: str, name: str, number: int) -> Any:
            full, pull = fake._pull(owner, name, number)
            body = request.get_json()
            if body.get("event") not in ("COMMENT", "APPROVE", "REQUEST_CHANGES"):
                return _error(422, "event must be COMMENT, APPROVE or REQUEST_CHANGES")
            commit = body.get("commit_id") or pull.head_sha
            lines = {f["filename"]: _right_lines(str(f["patch"]))
                     for f in fake.git.diff_files(full, pull.base_sha, commit)}
            for c in body.get("comments", []):
                wanted = {c["line"], c.get("start_line", c["line"])}
                if c.get("side", "RIGHT") != "RIGHT" or not wanted <= lines.get(c["path"], set()):
                    return _error(422, "Unprocessable Entity: pull_request_review_thread.line "
                                       "must be part of the diff")
            review = fake._add_review(fake.repos[full], number, BOT, "COMMENTED",
                                      body.get("body", ""), commit, body.get("comments", []))
            return jsonify(review)

        @app.route(f"{API}/repos/<owner>/<name>/pulls/<int:number>/reviews/<int:rid>",
                   methods=["GET", "PUT"])
        def review(owner: str, name: str, number: int, rid: int) -> Any:
            repo = fake._repo(owner, name)
            found = next((r for r in repo.reviews.get(number, []) if r["id"] == rid), None)
            if found is None:
                return _error(404, "Not Found")
            if request.method == "PUT":
                if found["user"]["login"] != BOT["login"]:  # only the author edits
                    return _error(403, "Resource not accessible by integration")
                found["body"] = request.get_json()["body"]
            return jsonify(found)

        @app.route(f"{API}/repos/<owner>/<name>/issues/<int:number>/comments",
                   methods=["GET", "POST"])
        def issue_comments(owner: str, name: str, number: int) -> Any:
            repo = fake._repo(owner, name)
            if request.method == "GET":
                return jsonify(repo.comments.get(number, []))
            return jsonify(fake._add_comment(repo, number, BOT, request.get_json()["body"])), 201

        @app.route(f"{API}/repos/<owner>/<name>/issues/comments/<int:cid>",
                   methods=["GET", "PATCH", "DELETE"])
        def issue_comment(owner: str, name: str, cid: int) -> Any:
            repo = fake._repo(owner, name)
            for comments in repo.comments.values():
                for comment in comments:
                    if comment["id"] != cid:
                        continue
                    if request.method != "GET" and comment["user"]["login"] != BOT["login"]:
                        return _error(403, "Resource not accessible by integration")
                    if request.method == "PATCH":
                        comment["body"] = request.get_json()["body"]
                    if request.method == "DELETE":
                        comments.remove(comment)
                        return Response(status=204)
                    return jsonify(comment)
            return _error(404, "Not Found")

        @app.post(f"{API}/repos/<owner>/<name>/issues/comments/<int:cid>/reactions")
        def reaction(owner: str, name: str, cid: int) -> Any:
            repo = fake._repo(owner, name)
            content = request.get_json().get("content")
            if content not in REACTIONS:
                return _error(422, "invalid reaction")
            for comments in repo.comments.values():
                for comment in comments:
                    if comment["id"] == cid:
                        comment.setdefault("reactions_given", []).append(content)
                        return jsonify({"id": next(fake._ids), "content": content,
                                        "user": BOT}), 201
            return _error(404, "Not Found")

        @app.get(f"{API}/repos/<owner>/<name>/collaborators/<login>/permission")
        def permission(owner: str, name: str, login: str) -> Any:
            repo = fake._repo(owner, name)
            level = repo.permissions.get(login, "read")
            return jsonify({"permission": level, "role_name": level, "user": user(login)})

        @app.get(f"{API}/orgs/<org>/teams/<team_slug>/memberships/<login>")
        def team_membership(org: str, team_slug: str, login: str) -> Any:
            if login not in fake.teams.get((org, team_slug), set()):
                return _error(404, "Not Found")
            return jsonify({"url": f"{fake.api_url}/teams/1/memberships/{login}",
                            "role": "member", "state": "active"})

        @app.get(f"{API}/repos/<owner>/<name>/compare/<path:basehead>")
        def compare(owner: str, name: str, basehead: str) -> Any:
            full = fake._repo(owner, name).full_name
            base, _, head = basehead.partition("...")
            behind, ahead = fake.git.behind_by(full, base, head)
            return jsonify({"status": "diverged" if behind and ahead else "ahead",
                            "behind_by": behind, "ahead_by": ahead, "total_commits": ahead,
                            "commits": [], "files": [],
                            "url": f"{fake.api_url}/repos/{full}/compare/{basehead}"})

        @app.delete(f"{API}/repos/<owner>/<name>/git/refs/<path:ref>")
        def delete_ref(owner: str, name: str, ref: str) -> Any:
            full = fake._repo(owner, name).full_name
            if not fake.git.ref_exists(full, f"refs/{ref}"):
                return _error(422, "Reference does not exist")
            fake.git.delete_ref(full, f"refs/{ref}")
            return Response(status=204)

        @app.get(f"{API}/repos/<owner>/<name>")
        def get_repository(owner: str, name: str) -> Any:
            return jsonify(fake.repo_json(fake._repo(owner, name).full_name))

        @app.route(f"{API}/repos/<owner>/<name>/issues", methods=["GET", "POST"])
        def issues(owner: str, name: str) -> Any:
            repo = fake._repo(owner, name)
            if request.method == "GET":
                state, creator = request.args.get("state", "open"), request.args.get("creator")
                return jsonify([i for i in repo.issues.values()
                                if state in ("all", i["state"])
                                and creator in (None, i["user"]["login"])])
            data = request.get_json()
            with fake._lock:
                number = ISSUE_NUMBERS + len(repo.issues)
                issue = {"id": number * 13, "number": number, "state": "open",
                         "state_reason": None, "title": data["title"],
                         "body": data.get("body") or "", "user": BOT, "labels": [],
                         "html_url": f"{fake.url}/{repo.full_name}/issues/{number}",
                         "url": f"{fake.api_url}/repos/{repo.full_name}/issues/{number}"}
                repo.issues[number] = issue
            return jsonify(issue), 201

        @app.route(f"{API}/repos/<owner>/<name>/issues/<int:number>", methods=["GET", "PATCH"])
        def issue(owner: str, name: str, number: int) -> Any:
            repo = fake._repo(owner, name)
            if number not in repo.issues:
                return _error(404, "Not Found")
            found = repo.issues[number]
            if request.method == "PATCH":
                data = request.get_json()
                found.update({k: data[k] for k in ("title", "body", "state", "state_reason")
                              if k in data})
            return jsonify(found)

        @app.post(f"{API}/repos/<owner>/<name>/check-runs")
        def create_check_run(owner: str, name: str) -> Any:
            repo = fake._repo(owner, name)
            body = request.get_json()
            run_id = next(fake._ids)
            run = {"id": run_id, "name": body["name"], "head_sha": body["head_sha"],
                   "status": body.get("status", "queued"), "conclusion": body.get("conclusion"),
                   "external_id": body.get("external_id", ""), "output": {"annotations": []},
                   "url": f"{fake.api_url}/repos/{repo.full_name}/check-runs/{run_id}",
                   "html_url": f"{fake.url}/{repo.full_name}/runs/{run_id}", "app": {"id": 1}}
            _merge_output(run, body.get("output"))
            repo.check_runs[run_id] = run
            return jsonify(run), 201

        @app.patch(f"{API}/repos/<owner>/<name>/check-runs/<int:run_id>")
        def update_check_run(owner: str, name: str, run_id: int) -> Any:
            run = fake._repo(owner, name).check_runs.get(run_id)
            if run is None:
                return _error(404, "Not Found")
            body = request.get_json()
            if len((body.get("output") or {}).get("annotations", [])) > 50:
                return _error(422, "at most 50 annotations per request")
            for key in ("status", "conclusion", "details_url"):
                if key in body:
                    run[key] = body[key]
            _merge_output(run, body.get("output"))
            return jsonify(run)

        @app.get(f"{API}/repos/<owner>/<name>/commits/<ref>/check-runs")
        def list_check_runs(owner: str, name: str, ref: str) -> Any:
            repo = fake._repo(owner, name)
            wanted = request.args.get("check_name")
            runs = [r for r in repo.check_runs.values() if r["head_sha"] == ref
                    and (wanted is None or r["name"] == wanted)]
            return jsonify({"total_count": len(runs), "check_runs": runs})

        @app.route(GRAPHQL, methods=["GET", "POST"])
        def graphql() -> Any:
            if request.method != "POST":
                return _error(404, "Not Found")
            body = request.get_json(silent=True) or {}
            query, variables = str(body.get("query", "")), body.get("variables") or {}
            if query.lstrip().startswith(("query", "{")) and "viewer" in query:
                return jsonify({"data": {"viewer": {"login": BOT["login"], "__typename": "Bot"}}})
            if not query.lstrip().startswith("mutation") or "minimizeComment(" not in query:
                return _graphql_error("UNSUPPORTED", "the fake knows only minimizeComment and "
                                                     "viewer")
            given = variables.get("input") or {}
            node_id, classifier = given.get("subjectId"), given.get("classifier")
            if classifier not in CLASSIFIERS:
                return _graphql_error("INVALID", f"invalid classifier {classifier!r}")
            found = fake._node(str(node_id))
            if found is None:
                return _graphql_error("NOT_FOUND", "Could not resolve to a node with the "
                                                   f"global id of '{node_id}'")
            if str(node_id).split("_", 1)[0] not in fake.minimizable:
                return _graphql_error("UNPROCESSABLE", f"{node_id} is not Minimizable")
            # A repository writer (the App) may hide anyone's post, as on GitHub.
            fake.minimized[str(node_id)] = str(classifier)
            return jsonify({"data": {"minimizeComment": {
                "minimizedComment": {"isMinimized": True}}}})

        @app.route("/<owner>/<name>.git/<path:rest>", methods=["GET", "POST"])
        def git_http(owner: str, name: str, rest: str) -> Response:
            token = _basic_password(request.headers.get("Authorization", ""))
            authorised = token is not None and fake._valid_token(token)
            fake.git_calls.append((request.method, f"/{owner}/{name}.git/{rest}", authorised))
            if not authorised:
                return Response("authentication required", status=401,
                                headers={"WWW-Authenticate": 'Basic realm="fake"'})
            status, headers, body = fake.git.http_backend(
                method=request.method, path_info=f"/{owner}/{name}.git/{rest}",
                query=request.query_string.decode(), content_type=request.content_type or "",
                body=request.get_data(), headers=dict(request.headers))
            return Response(body, status=status, headers=headers)

        # The App manifest flow: the browser posts a manifest to this page, which (once the user
        # confirms, at once here) sends it back to the manifest's redirect_url with a code.
        @app.post("/settings/apps/new")
        @app.post("/organizations/<org>/settings/apps/new")
        def new_app_from_manifest(org: str | None = None) -> Response:
            manifest = json.loads(request.form.get("manifest") or "{}")
            missing = [k for k in ("name", "url", "redirect_url") if not manifest.get(k)]
            if missing or not (manifest.get("hook_attributes") or {}).get("url"):
                return Response(f"invalid manifest: {missing or 'hook_attributes.url'}",
                                status=422)
            code = secrets.token_hex(10)
            fake.manifests[code] = manifest | {"owner": org or fake.browser_login}
            query = f"code={code}&state={request.args.get('state', '')}"
            return Response(status=302, headers={"Location": f"{manifest['redirect_url']}?{query}"})

        @app.post(f"{API}/app-manifests/<code>/conversions")
        def convert_manifest(code: str) -> tuple[Response, int]:
            manifest = fake.manifests.pop(code, None)  # a code converts once
            if manifest is None:
                return _error(404, "Not Found")
            fake.registered.append(manifest)
            return jsonify({
                "id": fake.app_id, "slug": APP_SLUG, "node_id": "A_1", "name": manifest["name"],
                "owner": user(manifest["owner"]), "description": manifest.get("description", ""),
                "external_url": manifest["url"], "html_url": f"{fake.url}/apps/{APP_SLUG}",
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "permissions": manifest.get("default_permissions", {}),
                "events": manifest.get("default_events", []),
                "client_id": fake.oauth_client[0], "client_secret": fake.oauth_client[1],
                "webhook_secret": fake.manifest_webhook_secret, "pem": fake.private_pem}), 201

        # The OAuth web flow: not REST (github.com/login/oauth/...), so outside the description.
        @app.get("/login/oauth/authorize")
        def oauth_authorize() -> Response:
            if request.args.get("client_id") != fake.oauth_client[0]:
                return Response("unknown client", status=404)
            code = secrets.token_hex(10)
            fake.oauth_codes[code] = fake.browser_login
            target = request.args["redirect_uri"]
            query = f"code={code}&state={request.args.get('state', '')}"
            return Response(status=302, headers={
                "Location": f"{target}{'&' if '?' in target else '?'}{query}"})

        @app.post("/login/oauth/access_token")
        def oauth_token() -> Any:
            form = request.form
            if (form.get("client_id"), form.get("client_secret")) != fake.oauth_client:
                return jsonify({"error": "incorrect_client_credentials"})
            if form.get("grant_type") == "refresh_token":
                login = fake.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if login is None:
                    return jsonify({"error": "bad_refresh_token"})
            else:
                login = fake.oauth_codes.pop(form.get("code", ""), None)
                if login is None:
                    return jsonify({"error": "bad_verification_code"})
            # Expiring user tokens, GitHub's default for an App: 8 hours, with a refresh token.
            token, refresh = "ghu_" + secrets.token_hex(18), "ghr_" + secrets.token_hex(30)
            fake.user_tokens[token], fake.refresh_tokens[refresh] = login, login
            return jsonify({"access_token": token, "token_type": "bearer", "scope": "",
                            "expires_in": 28800, "refresh_token": refresh,
                            "refresh_token_expires_in": 15811200})

        @app.get(f"{API}/user")
        def the_user() -> Any:
            return jsonify(user(fake._user_login()))

        @app.get(f"{API}/user/installations")
        def user_installations() -> Any:
            login = fake._user_login()
            owners = sorted({name.split("/")[0] for name, repo in fake.repos.items()
                             if login in repo.permissions})
            found = [{"id": fake.installation_id, "app_id": fake.app_id,
                      "account": user(owner) | {"type": fake.account_type},
                      "target_type": fake.account_type} for owner in owners[:1]]
            return jsonify({"total_count": len(found), "installations": found})

        @app.get(f"{API}/user/installations/<int:inst>/repositories")
        def user_installation_repos(inst: int) -> Any:
            login = fake._user_login()
            if inst != fake.installation_id:
                return _error(404, "Not Found")
            listed = [fake.repo_json(name) | {"permissions": _permissions(
                repo.permissions[login])} for name, repo in sorted(fake.repos.items())
                if login in repo.permissions]
            page, per_page = int(request.args.get("page", 1)), int(
                request.args.get("per_page", 30))
            shown = listed[(page - 1) * per_page:page * per_page]
            return jsonify({"total_count": len(listed), "repositories": shown})

        @app.get(f"{API}/user/memberships/orgs/<org>")
        def org_membership(org: str) -> Any:
            login = fake._user_login()
            role = fake.org_roles.get(org, {}).get(login)
            if role is None:
                return _error(404, "Not Found")
            return jsonify({"state": "active", "role": role, "user": user(login),
                            "organization": {"login": org, "id": 1}})

        @app.errorhandler(404)
        def not_found(_error_: Any) -> tuple[Response, int]:
            return jsonify({"message": "Not Found"}), 404

        return app

    # -- helpers -------------------------------------------------------------------------------

    def _valid_jwt(self, token: str) -> bool:
        try:
            claims = jwt.decode(token, self._public, algorithms=["RS256"])
        except jwt.PyJWTError:
            return False
        return str(claims.get("iss")) == str(self.app_id)

    def _user_login(self) -> str:
        return self.user_tokens[request.headers["Authorization"].split(" ", 1)[1]]

    def _valid_token(self, token: str) -> bool:
        return self.tokens.get(token, 0) > time.time()

    def _repo(self, owner: str, name: str) -> Repo:
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None:
            from werkzeug.exceptions import NotFound

            raise NotFound()
        return repo

    def _pull(self, owner: str, name: str, number: int) -> tuple[str, Pull]:
        repo = self._repo(owner, name)
        if number not in repo.pulls:
            from werkzeug.exceptions import NotFound

            raise NotFound()
        return repo.full_name, repo.pulls[number]

    def _node(self, node_id: str) -> dict[str, Any] | None:
        for repo in self.repos.values():
            for posts in [*repo.reviews.values(), *repo.comments.values()]:
                for post in posts:
                    if post["node_id"] == node_id:
                        return post
        return None

    def _add_review(self, repo: Repo, number: int, author: dict[str, Any], state: str, body: str,
                    commit: str, comments: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            rid = next(self._ids)
            review = {"id": rid, "node_id": f"PRR_{rid}", "user": author, "body": body,
                      "state": state,
                      "commit_id": commit, "comments": comments,
                      "html_url": f"{self.url}/{repo.full_name}/pull/{number}#review-{rid}",
                      "pull_request_url": f"{self.api_url}/repos/{repo.full_name}/pulls/{number}",
                      "submitted_at": "2026-01-01T00:00:00Z"}
            repo.reviews.setdefault(number, []).append(review)
            return review

    def _add_comment(self, repo: Repo, number: int, author: dict[str, Any], body: str
                     ) -> dict[str, Any]:
        with self._lock:
            cid = next(self._ids)
            comment = {"id": cid, "node_id": f"IC_{cid}", "user": author, "body": body,
                       "html_url": f"{self.url}/{repo.full_name}/pull/{number}#issuecomment-{cid}",
                       "url": f"{self.api_url}/repos/{repo.full_name}/issues/comments/{cid}",
                       "issue_url": f"{self.api_url}/repos/{repo.full_name}/issues/{number}",
                       "created_at": "2026-01-01T00:00:00Z"}
            repo.comments.setdefault(number, []).append(comment)
            return comment

    def add_user_comment(self, full_name: str, number: int, login: str, body: str
                         ) -> dict[str, Any]:
        return self._add_comment(self.repos[full_name], number, user(login), body)

    def add_comment_as(self, full_name: str, number: int, author: dict[str, Any], body: str
                       ) -> dict[str, Any]:
        return self._add_comment(self.repos[full_name], number, author, body)

    def add_review_as(self, full_name: str, number: int, author: dict[str, Any], body: str
                      ) -> dict[str, Any]:
        pull = self.repos[full_name].pulls[number]
        return self._add_review(self.repos[full_name], number, author, "COMMENTED", body,
                                pull.head_sha, [])


def _error(status: int, message: str) -> Response:
    response = jsonify({"message": message})
    response.status_code = status
    return response


def _permissions(level: str) -> dict[str, bool]:
    order = ("pull", "triage", "push", "maintain", "admin")
    rank = {"read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}[level]
    return {name: index <= rank for index, name in enumerate(order)}


def _graphql_error(kind: str, message: str) -> Response:
    # GraphQL reports errors with 200 and an `errors` list, as GitHub does.
    return jsonify({"data": None, "errors": [{"type": kind, "message": message}]})


def _merge_output(run: dict[str, Any], output: dict[str, Any] | None) -> None:
    if not output:
        return
    for key in ("title", "summary", "text"):
        if key in output:
            run["output"][key] = output[key]
    run["output"]["annotations"] += output.get("annotations", [])


def _right_lines(patch: str) -> set[int]:
    """New-side line numbers in the diff (written apart from the App's own parser)."""
    found: set[int] = set()
    line = 0
    for text in patch.splitlines():
        if text.startswith("@@"):
            line = int(text.split("+", 1)[1].split(" ", 1)[0].split(",", 1)[0])
        elif text[:1] in ("+", " "):
            found.add(line)
            line += 1
    return found


def _basic_password(header: str) -> str | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None
