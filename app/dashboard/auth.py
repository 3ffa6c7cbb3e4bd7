"""Who is asking: the signed session cookie of a browser, or an operator's API token.

Cookies are `HttpOnly`, `SameSite=Lax` and `Secure` (only a loopback address over plain http,
with INFRAR_INSECURE_COOKIES set, does without). Every state change is a POST carrying the
session's CSRF token, compared in constant time; API tokens, never sent by a browser on its
own, need none.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from flask import g, jsonify, redirect, request, url_for
from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from infrar.app.dashboard import principals
from infrar.app.dashboard.access import Access, check, recheck_with_app
from infrar.app.dashboard.github_user import GitHubUserError, UserClient, UserTokens, refresh
from infrar.app.dashboard.principals import AccessLost, Operator

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

SESSION_COOKIE = "infrar_session"
SIGN_IN_COOKIE = "infrar_sign_in"
SIGN_IN_MAX_AGE_S = 600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
F = TypeVar("F", bound=Callable[..., Any])


class Refusal(HTTPException):
    """Answered as a page or as JSON by the blueprint's error handler."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def session_key(runtime: Runtime) -> bytes:
    settings = runtime.settings
    if settings.session_key:
        return settings.session_key
    return hmac.new(settings.webhook_secret, b"infrar dashboard sessions",
                    hashlib.sha256).digest()


def is_loopback(host: str) -> bool:
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Gate:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        key = session_key(runtime)
        self._signer = Signer(key, salt="infrar-dashboard-session")
        self._sign_in = URLSafeTimedSerializer(key, salt="infrar-dashboard-sign-in")

    # -- cookies -------------------------------------------------------------------------------

    def secure(self) -> bool:
        return self.runtime.settings.cookie_secure or not is_loopback(request.host)

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, secure=self.secure(), httponly=True,
                            samesite="Lax", path="/")

    def start_session(self, response: Response, value: str) -> None:
        self._set(response, SESSION_COOKIE, self._signer.sign(value).decode(),
                  int(principals.SESSION_LIFETIME_S))

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self.secure(), httponly=True,
                               samesite="Lax")

    def remember_sign_in(self, response: Response, state: str, next_url: str) -> None:
        self._set(response, SIGN_IN_COOKIE, self._sign_in.dumps({"s": state, "n": next_url}),
                  SIGN_IN_MAX_AGE_S)

    def pending_sign_in(self) -> tuple[str, str] | None:
        raw = request.cookies.get(SIGN_IN_COOKIE, "")
        try:
            doc = self._sign_in.loads(raw, max_age=SIGN_IN_MAX_AGE_S)
        except BadSignature:
            return None
        return str(doc["s"]), safe_next(str(doc["n"]))

    def session_value(self) -> str | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            return self._signer.unsign(raw).decode()
        except BadSignature:
            return None

    # -- who -----------------------------------------------------------------------------------

    def operator(self, *, tokens: bool) -> Operator | None:
        """The signed-in operator; with `tokens`, an API token also counts."""
        runtime, settings = self.runtime, self.runtime.settings
        header = request.headers.get("Authorization", "")
        if tokens and header.startswith("Bearer "):
            value, kind = header[7:].strip(), principals.TOKEN
        else:
            value, kind = self.session_value() or "", principals.SESSION
        if not value:
            return None
        try:
            return principals.find(runtime.db, runtime.vault, value, kind=kind,
                                   recheck_s=settings.access_recheck_seconds,
                                   recheck=self._recheck)
        except AccessLost:
            return None
        except GitHubUserError:
            raise Refusal(503, "GitHub could not be asked about your access; try again "
                          "shortly") from None

    def _recheck(self, kind: str, known: Access, grant: str) -> tuple[Access, str]:
        runtime, settings = self.runtime, self.runtime.settings
        if kind == principals.TOKEN:
            return recheck_with_app(runtime, known), grant
        tokens = UserTokens.from_json(grant)
        try:
            return check(UserClient(settings.api_url, tokens.access)), grant
        except GitHubUserError as exc:
            if exc.status not in (401, 403):
                raise
            if not tokens.refresh:
                raise AccessLost(str(exc)) from None
        try:
            tokens = refresh(settings.web_url, client_id=settings.github_client_id,
                             client_secret=settings.github_client_secret, tokens=tokens)
            return check(UserClient(settings.api_url, tokens.access)), tokens.to_json()
        except GitHubUserError as exc:
            if exc.status in (401, 403):
                raise AccessLost(str(exc)) from None
            raise

    def check_csrf(self, op: Operator) -> None:
        if op.kind == principals.TOKEN:
            return
        given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
        if not hmac.compare_digest(given.encode(), op.csrf.encode()):
            raise Refusal(403, "missing or wrong CSRF token; reload the page and try again")

    # -- decorators ----------------------------------------------------------------------------

    def page(self, view: F) -> F:
        """Signed-in browsers only; anyone else is sent to sign in."""

        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            op = self.operator(tokens=False)
            if op is None:
                target = url_for("dashboard.sign_in", next=request.full_path.rstrip("?"))
                response = redirect(target)
                if request.cookies.get(SESSION_COOKIE):
                    self.end_session(response)
                return response
            if request.method == "POST":
                self.check_csrf(op)
            g.operator = op
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    def api(self, view: F) -> F:
        """A session or an API token; anyone else gets 401 JSON."""

        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            op = self.operator(tokens=True)
            if op is None:
                return jsonify({"error": "sign-in required"}), 401
            if request.method == "POST":
                self.check_csrf(op)
            g.operator = op
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]


def safe_next(target: str) -> str:
    """Only a path of this site: never another host (an open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
