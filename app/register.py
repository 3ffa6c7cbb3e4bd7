"""Registering the GitHub App from app/manifest.json, as Probot does: GitHub's manifest flow.

A page on loopback holds a form that posts the manifest (with the operator's webhook URL) to
GitHub's `settings/apps/new`; GitHub creates the App once the operator confirms, and sends the
browser back to the page's callback with a code and the `state` the form carried. The callback
checks that state, exchanges the code (`POST /app-manifests/{code}/conversions`) for the App's
id, private key and secrets, and they are written, with a fresh encryption key, to an env file
only its owner can read.
"""

from __future__ import annotations

import hmac
import html
import json
import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from infrar.app.crypto import new_key
from infrar.app.settings import DEFAULT_API_URL, web_url_for

CALLBACK_PATH = "/callback"
_PLAIN = re.compile(r"[A-Za-z0-9._:/+=,-]+")  # needs no quoting in any env file syntax
_CODE = re.compile(r"[A-Za-z0-9_-]{1,200}")  # goes into the conversion's URL path
_ORGANIZATION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
SIGN_IN_CALLBACK_PATH = "/auth/callback"  # the dashboard's OAuth callback (docs/dashboard.md)


class RegistrationError(Exception):
    """The App could not be registered, or its credentials not written."""


@dataclass(frozen=True)
class Registration:
    """What GitHub returns for a converted manifest."""

    app_id: int
    slug: str
    name: str
    html_url: str
    pem: str
    webhook_secret: str
    client_id: str
    client_secret: str


def github_urls(env: Mapping[str, str]) -> tuple[str, str]:
    """GitHub's REST and web addresses, as the App reads them (GitHub Enterprise Server:
    INFRAR_GITHUB_API_URL=https://HOST/api/v3, whose web address is https://HOST)."""
    api_url = env.get("INFRAR_GITHUB_API_URL", "").rstrip("/") or DEFAULT_API_URL
    return api_url, env.get("INFRAR_GITHUB_WEB_URL", "").rstrip("/") or web_url_for(api_url)


def manifest(*, webhook_url: str, redirect_url: str, name: str | None = None) -> dict[str, Any]:
    """app/manifest.json with this installation's webhook URL, callback and (optional) name."""
    base = json.loads(resources.files("infrar.app").joinpath("manifest.json").read_text())
    scheme = urlsplit(webhook_url).scheme
    if scheme not in ("https", "http") or not urlsplit(webhook_url).netloc:
        raise RegistrationError(f"--webhook-url must be an http(s) URL, not {webhook_url!r}")
    chosen = base | {"hook_attributes": base["hook_attributes"] | {"url": webhook_url},
                     "redirect_url": redirect_url}
    if name:
        chosen["name"] = name
    public_base = webhook_url.removesuffix("/webhook")
    if public_base != webhook_url:
        chosen["callback_urls"] = [public_base + SIGN_IN_CALLBACK_PATH]
    return chosen


def new_app_url(web_url: str, state: str, organization: str | None = None) -> str:
    if organization is not None and not _ORGANIZATION.fullmatch(organization):
        raise RegistrationError(f"--org {organization!r} is not an organization's login")
    owner = f"/organizations/{organization}" if organization else ""
    return f"{web_url}{owner}/settings/apps/new?state={state}"


def page(*, action: str, chosen: dict[str, Any]) -> str:
    """The form the operator submits (GitHub takes the manifest only as a browser's POST)."""
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Register Infrar</title>"
        "</head><body><h1>Register the GitHub App</h1>"
        f"<p>Name: <b>{html.escape(chosen['name'])}</b>; webhooks to "
        f"<code>{html.escape(chosen['hook_attributes']['url'])}</code>.</p>"
        f"<form action=\"{html.escape(action)}\" method=\"post\">"
        f"<input type=\"hidden\" name=\"manifest\" value=\"{html.escape(json.dumps(chosen))}\">"
        "<button type=\"submit\">Create the App on GitHub</button></form></body></html>")


def convert(api_url: str, code: str) -> Registration:
    """Exchange the manifest flow's code for the new App's credentials (the code is used once
    and expires after an hour)."""
    try:
        answer = requests.post(
            f"{api_url}/app-manifests/{code}/conversions", timeout=30,
            headers={"Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28"})
    except requests.RequestException as exc:
        raise RegistrationError(f"cannot reach {api_url}: {exc}") from None
    if answer.status_code != 201:
        raise RegistrationError(
            f"GitHub refused the code ({answer.status_code}); register again: codes work once "
            "and expire after an hour")
    data = answer.json()
    return Registration(
        app_id=int(data["id"]), slug=str(data["slug"]), name=str(data["name"]),
        html_url=str(data["html_url"]), pem=str(data["pem"]),
        webhook_secret=str(data.get("webhook_secret") or ""),
        client_id=str(data.get("client_id") or ""),
        client_secret=str(data.get("client_secret") or ""))


def env_file_text(registration: Registration, *, api_url: str, encryption_key: str) -> str:
    """Shell syntax (`set -a; . ./infrar.env`), also read by systemd and Compose `env_file`.
    The key's newlines are written as `\\n`, which the App reads back as newlines."""
    values = {
        "INFRAR_GITHUB_APP_ID": str(registration.app_id),
        "INFRAR_WEBHOOK_SECRET": registration.webhook_secret,
        "INFRAR_ENCRYPTION_KEY": encryption_key,
    }
    if registration.client_id:
        values |= {"INFRAR_GITHUB_CLIENT_ID": registration.client_id,
                   "INFRAR_GITHUB_CLIENT_SECRET": registration.client_secret}
    if api_url != DEFAULT_API_URL:
        values["INFRAR_GITHUB_API_URL"] = api_url
    unsafe = [name for name, value in values.items() if not _PLAIN.fullmatch(value)]
    pem = registration.pem.strip()
    if unsafe or "'" in pem or not pem.startswith("-----BEGIN"):
        raise RegistrationError(f"GitHub returned values that cannot be written: "
                                f"{', '.join(unsafe) or 'the private key'}")
    escaped = pem.replace("\n", "\\n") + "\\n"
    lines = [f"# The GitHub App {registration.slug} ({registration.html_url}), registered by "
             "`infrar app register`. Secret: only its owner may read this file.",
             f"INFRAR_GITHUB_PRIVATE_KEY='{escaped}'",
             *(f"{name}={value}" for name, value in values.items())]
    return "\n".join(lines) + "\n"


def refuse_existing(path: Path, *, force: bool) -> None:
    if (path.exists() or path.is_symlink()) and not force:
        raise RegistrationError(f"{path} exists; give --force to replace it")


def write_env_file(path: Path, text: str, *, force: bool) -> None:
    """Write `text` to `path` with mode 0600: never over an existing file unless `force`, and
    then by replacing it whole (a reader never sees half a file)."""
    refuse_existing(path, force=force)
    target = path if not force else path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise RegistrationError(f"{path} exists; give --force to replace it") from None
    except OSError as exc:
        raise RegistrationError(f"cannot write {path}: {exc}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    if target != path:
        os.replace(target, path)


def save(registration: Registration, path: Path, *, api_url: str, force: bool) -> None:
    """The App's credentials and a fresh encryption key, in the env file at `path`."""
    text = env_file_text(registration, api_url=api_url, encryption_key=new_key())
    write_env_file(path, text, force=force)


def next_steps(registration: Registration, path: Path, webhook_url: str) -> str:
    return (
        f"Registered the GitHub App {registration.name} (id {registration.app_id}): "
        f"{registration.html_url}\n"
        f"Wrote its id, private key, webhook secret, OAuth client and a new encryption key to "
        f"{path} (mode 0600; keep it secret, and keep the encryption key: plans, Terraform "
        "state and credentials are sealed with it).\n"
        "Next:\n"
        f"  1. Install the App on repositories: {registration.html_url}/installations/new\n"
        f"  2. Run it where {webhook_url} reaches it (docs/github-app.md):\n"
        f"       set -a; . ./{path.name}; set +a\n"
        "       infrar app serve --host 0.0.0.0 --port 8080\n")


@dataclass
class _Outcome:
    done: threading.Event
    registration: Registration | None = None
    error: str = ""


class ManifestFlow:
    """The loopback page and callback; `wait` returns the registration or raises."""

    def __init__(self, *, api_url: str, web_url: str, webhook_url: str, name: str | None,
                 organization: str | None, port: int = 0) -> None:
        self.api_url, self.state = api_url, secrets.token_urlsafe(32)
        self._outcome = _Outcome(threading.Event())
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self.manifest = manifest(webhook_url=webhook_url, name=name,
                                 redirect_url=self.url.rstrip("/") + CALLBACK_PATH)
        self.page = page(action=new_app_url(web_url, self.state, organization),
                         chosen=self.manifest)

    def wait(self, timeout: float) -> Registration:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            finished = self._outcome.done.wait(timeout)
        finally:
            self._server.shutdown()
            self._server.server_close()
        if not finished:
            raise RegistrationError(f"no answer from GitHub within {timeout:g} s")
        if self._outcome.registration is None:
            raise RegistrationError(self._outcome.error)
        return self._outcome.registration

    def _callback(self, query: str) -> tuple[int, str]:
        given = parse_qs(query)
        state, code = given.get("state", [""])[0], given.get("code", [""])[0]
        if not hmac.compare_digest(state.encode(), self.state.encode()):
            return 400, "This answer does not belong to this registration (state differs)."
        if not _CODE.fullmatch(code) or self._outcome.done.is_set():
            return 400, "No valid code, or the App is already registered."
        try:
            registration = convert(self.api_url, code)
        except RegistrationError as exc:
            self._outcome.error = str(exc)
            return 502, str(exc)
        finally:
            self._outcome.done.set()
        self._outcome.registration = registration
        return 200, (f"Registered {registration.name}. Back to the terminal: it says what to "
                     "do next.")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        flow = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path, _, query = self.path.partition("?")
                if path == "/":
                    self._answer(200, flow.page)
                elif path == CALLBACK_PATH:
                    status, text = flow._callback(query)
                    self._answer(status, f"<!doctype html><p>{html.escape(text)}</p>")
                else:
                    self._answer(404, "<!doctype html><p>Not found.</p>")

            def _answer(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the query holds the one-time code."""

        return Handler
