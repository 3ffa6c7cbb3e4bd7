"""`infrar app register`: GitHub's manifest flow on loopback, against the GitHub fake (as GitHub
Enterprise Server: INFRAR_GITHUB_API_URL=<fake>/api/v3, web pages at <fake>); and processes
that act on GitHub refuse to start without the App's id and key."""

from __future__ import annotations

import html
import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jwt
import pytest
import requests
from fake_github import FakeGitHub
from openapi_routes import match

WEBHOOK_URL = "https://infrar.example.com/webhook"
CLI = [sys.executable, "-c", "from infrar.cli.main import main; main()", "app"]


@dataclass
class Register:
    """A running `infrar app register` and the page it printed."""

    proc: subprocess.Popen[str]
    page_url: str

    def finish(self) -> str:
        output, _ = self.proc.communicate(timeout=60)
        return output


@pytest.fixture
def register(fake: FakeGitHub, tmp_path: Path) -> Iterator[type[Register]]:
    started: list[subprocess.Popen[str]] = []

    class Started(Register):
        def __init__(self, *args: str) -> None:
            env = {**os.environ, "INFRAR_GITHUB_API_URL": fake.api_url}
            env.pop("INFRAR_GITHUB_WEB_URL", None)
            proc = subprocess.Popen([*CLI, "register", "--webhook-url", WEBHOOK_URL, *args],
                                    cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            started.append(proc)
            assert proc.stdout is not None
            first = proc.stdout.readline()
            found = re.search(r"Open (http://127\.0\.0\.1:\d+/) ", first)
            assert found, first + proc.stdout.read()
            super().__init__(proc, found.group(1))

    yield Started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only
    return session


def _form(browser: requests.Session, page_url: str) -> tuple[str, str]:
    """The registration page's form: where it posts, and the manifest it carries."""
    page = browser.get(page_url, timeout=10)
    assert page.status_code == 200
    action = re.search(r'<form action="([^"]+)" method="post">', page.text)
    manifest = re.search(r'name="manifest" value="([^"]*)"', page.text)
    assert action and manifest, page.text
    return html.unescape(action.group(1)), html.unescape(manifest.group(1))


def _submit(browser: requests.Session, page_url: str) -> requests.Response:
    """What the operator does: open the page, press the button, confirm on GitHub."""
    action, manifest = _form(browser, page_url)
    return browser.post(action, data={"manifest": manifest}, timeout=30)


def _sourced_settings(env_file: Path) -> dict[str, str]:
    """The App's settings after `set -a; . ./infrar.env` in a shell."""
    code = ("import json; from infrar.app.settings import Settings; s = Settings.from_env(); "
            "print(json.dumps({'app_id': s.app_id, 'key': s.private_key, "
            "'secret': s.webhook_secret.decode(), 'keys': len(s.encryption_keys), "
            "'key_bytes': len(s.encryption_keys[0]), 'api': s.api_url, 'web': s.web_url, "
            "'client': s.github_client_id}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INFRAR_")}
    done = subprocess.run(["sh", "-c", 'set -a; . "$1"; set +a; exec "$2" -c "$3"', "sh",
                           str(env_file), sys.executable, code],
                          env=clean, capture_output=True, text=True, check=True, timeout=60)
    return dict(json.loads(done.stdout))


def test_register_writes_the_apps_credentials_to_a_private_env_file(
        fake: FakeGitHub, register: type[Register], tmp_path: Path) -> None:
    running = register()
    browser = _browser()
    action, _ = _form(browser, running.page_url)
    # GitHub Enterprise Server: the web address is the API's without /api/v3.
    assert re.fullmatch(re.escape(fake.url) + r"/settings/apps/new\?state=[\w-]{40,}", action)
    answer = _submit(browser, running.page_url)
    assert answer.status_code == 200 and "Registered" in answer.text
    output = running.finish()
    assert running.proc.returncode == 0, output
    assert f"{fake.url}/apps/infrar/installations/new" in output
    assert "infrar app serve" in output

    [sent] = fake.registered
    shipped = json.loads(resources.files("infrar.app").joinpath("manifest.json").read_text())
    assert sent["hook_attributes"]["url"] == WEBHOOK_URL
    assert sent["redirect_url"] == running.page_url + "callback"
    assert sent["default_permissions"] == shipped["default_permissions"]
    assert sent["default_events"] == shipped["default_events"]
    assert sent["callback_urls"] == ["https://infrar.example.com/auth/callback"]

    env_file = tmp_path / "infrar.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    settings = _sourced_settings(env_file)
    assert settings == {
        "app_id": str(fake.app_id), "key": fake.private_pem.strip() + "\n",
        "secret": fake.manifest_webhook_secret, "keys": 1, "key_bytes": 32,
        "api": fake.api_url, "web": fake.url, "client": fake.oauth_client[0]}
    # The key written is the App's: GitHub accepts a JWT it signs.
    token = jwt.encode({"iss": settings["app_id"], "iat": int(time.time()) - 60,
                        "exp": int(time.time()) + 300}, settings["key"], algorithm="RS256")
    assert browser.get(f"{fake.api_url}/app", headers={"Authorization": f"Bearer {token}"},
                       timeout=10).status_code == 200
    assert match("POST", "/app-manifests/0123/conversions") == "/app-manifests/{code}/conversions"


def test_an_answer_with_another_state_is_refused_and_the_flow_goes_on(
        fake: FakeGitHub, register: type[Register], tmp_path: Path) -> None:
    running = register()
    browser = _browser()
    action, manifest = _form(browser, running.page_url)
    forged = re.sub(r"state=[\w-]+", "state=forged", action)
    refused = browser.post(forged, data={"manifest": manifest}, timeout=30)
    assert refused.status_code == 400 and "state differs" in refused.text
    assert fake.registered == [] and running.proc.poll() is None
    state = action.rpartition("state=")[2]
    odd = browser.get(f"{running.page_url}callback?code=../../app&state={state}", timeout=10)
    assert odd.status_code == 400 and running.proc.poll() is None
    assert not (tmp_path / "infrar.env").exists()
    assert _submit(browser, running.page_url).status_code == 200
    assert running.finish() and running.proc.returncode == 0
    assert len(fake.registered) == 1 and (tmp_path / "infrar.env").is_file()


def test_an_existing_env_file_is_kept_unless_forced(
        fake: FakeGitHub, register: type[Register], tmp_path: Path) -> None:
    env_file = tmp_path / "infrar.env"
    env_file.write_text("INFRAR_GITHUB_APP_ID=1\n")
    env = {**os.environ, "INFRAR_GITHUB_API_URL": fake.api_url}
    kept = subprocess.run([*CLI, "register", "--webhook-url", WEBHOOK_URL], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert kept.returncode == 1
    assert "infrar.env exists; give --force to replace it" in kept.stderr
    odd = subprocess.run([*CLI, "register", "--webhook-url", WEBHOOK_URL, "--force", "--org",
                          "acme/../x"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert odd.returncode == 1 and "not an organization's login" in odd.stderr
    assert env_file.read_text() == "INFRAR_GITHUB_APP_ID=1\n"

    running = register("--force", "--org", "acme", "--name", "Infrar for Acme")
    browser = _browser()
    action, _ = _form(browser, running.page_url)
    assert action.startswith(f"{fake.url}/organizations/acme/settings/apps/new?state=")
    assert _submit(browser, running.page_url).status_code == 200
    assert running.finish() and running.proc.returncode == 0
    [sent] = fake.registered
    assert sent["owner"] == "acme" and sent["name"] == "Infrar for Acme"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert f"INFRAR_GITHUB_APP_ID={fake.app_id}\n" in env_file.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".infrar.env")] == []


@pytest.mark.parametrize("command", [["worker"], ["serve"]])
def test_processes_acting_on_github_refuse_to_start_without_the_app_id_and_key(
        tmp_path: Path, command: list[str]) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "INFRAR_WEBHOOK_SECRET": "s",
           "INFRAR_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([*CLI, *command], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "INFRAR_GITHUB_APP_ID and INFRAR_GITHUB_PRIVATE_KEY" in line, line
    assert "infrar app register" in line
    assert not (tmp_path / "data").exists()  # refused before touching anything
    with_id = subprocess.run([*CLI, *command], env={**env, "INFRAR_GITHUB_APP_ID": "7"},
                             capture_output=True, text=True, timeout=60, check=False)
    assert with_id.returncode == 1 and "INFRAR_GITHUB_APP_ID" not in with_id.stderr
    assert "INFRAR_GITHUB_PRIVATE_KEY" in with_id.stderr
