"""The dashboard in a real headless Chromium against the App (waitress, embedded workers) and
the GitHub fake: an operator signs in through GitHub's OAuth flow, sees only the repositories
they can push to, watches a plan's Terraform output stream in live (server-sent events),
unlocks an environment (gone from the App's state, and the pull request is told), reads the
plan's redacted output, retries a failed job, creates an API token and reads the audit log;
on a phone-sized window the pages do not overflow. The canary scan of test_app_canaries runs
over every page the browser saw and every API response: no secret the App holds appears.

Screenshots of the main pages are saved under the test's folder (`screenshots/`); with
INFRAR_DASHBOARD_DOCS_IMAGES=<folder> two of them are also written there (docs/images)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import payloads
import pytest
import requests
import test_app_canaries as canaries
from app_support import Deliveries, read_logs, wait_for
from dashboard_support import chromium, dashboard_env
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from infrar.app.ingest import subject_of
from infrar.app.state import deliveries, locks
from infrar.engine.terraform.redaction import REDACTED

HIDDEN = "acme/hidden"
CLIENT_SECRET = "CANARY-oauth-client-secret-9d1e44"
SESSION_KEY = "CANARY-session-key-5b7c0a99e1"
LEAKED_TOKEN = "ghs_" + "L" * 36
DOCS_IMAGES = ("repository", "jobs")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path) as driver:
        yield driver


def test_operator_walks_the_dashboard(fake: FakeGitHub, app_env: dict[str, str], start_app,
                                      tmp_path: Path, browser: Any) -> None:
    fake.oauth_client = (fake.oauth_client[0], CLIENT_SECRET)
    encryption_key = base64.b64encode(canaries.ENCRYPTION_KEY_RAW).decode()
    env = {**app_env, **dashboard_env(fake), "INFRAR_WEBHOOK_SECRET": canaries.WEBHOOK_SECRET,
           "INFRAR_ENCRYPTION_KEY": encryption_key, "INFRAR_GENERATOR": "canary_generator",
           "INFRAR_SESSION_KEY": SESSION_KEY}
    gates = _Gates(tmp_path / "gates", app_env)
    env["INFRAR_TF_BINARY"] = str(gates.script)
    _store_credentials(env, tmp_path)
    url = start_app("serve", env, "--embedded-workers", "2")
    logs = partial(read_logs, tmp_path)
    fake.token_prefix = "CANARY-token-"
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": canaries.CONFIG})
    fake.create_repo(HIDDEN, BASE_FILES)
    fake.repos[REPO].permissions["alice"] = "write"
    fake.repos[HIDDEN].permissions["bob"] = "write"
    fake.org_roles["acme"] = {"alice": "admin"}
    send = Deliveries(fake, url, env, logs)
    seen: dict[str, bytes] = {}
    b, shots = browser, _Shots(browser, tmp_path / "screenshots")

    def visit(path: str) -> None:
        b.get(url + path)
        keep(path)

    def keep(name: str) -> None:
        seen[f"page {name}"] = b.page_source.encode()

    # A plan job, held before Terraform starts until the browser watches it.
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    planning = "delivery-plan"
    assert fake.deliver(url, canaries.WEBHOOK_SECRET.encode(), "pull_request",
                        payloads.pull_request(fake, REPO, pull, "opened"),
                        delivery=planning).status_code == 202
    wait_for(lambda: gates.waiting("init"), what="the plan job to start", logs=logs)

    # Anonymous: sent to sign in. Signing in goes through GitHub and back.
    visit("/")
    assert "/sign-in" in b.current_url and b.find_elements(By.ID, "sign-in-github")
    assert not b.find_elements(By.CSS_SELECTOR, "a.repo-link")
    b.find_element(By.ID, "sign-in-github").click()
    WebDriverWait(b, 30).until(lambda d: d.find_elements(By.ID, "signed-in-as"))
    assert b.find_element(By.ID, "signed-in-as").text == "alice"
    assert [a.text for a in b.find_elements(By.CSS_SELECTOR, "a.repo-link")] == [REPO]
    assert HIDDEN not in b.page_source
    keep("home")
    shots.take("home")

    # The running job's output streams in.
    visit(f"/jobs/{planning}")
    assert b.find_element(By.ID, "job-status").text == "running"
    assert b.find_elements(By.CSS_SELECTOR, "#output .line") == []
    gates.open("init")
    output = b.find_element(By.ID, "output")
    # The plan's lines arrive while the job still runs (held again before `terraform show`):
    # streamed through the server as they came, not sent at the end.
    WebDriverWait(b, 120).until(lambda d: "Plan: 1 to add" in output.text)
    assert deliveries.status(send.db, planning) == "running"
    assert b.find_element(By.ID, "job-status").text == "running"
    gates.open("show")
    WebDriverWait(b, 120).until(lambda d: d.find_element(By.ID, "live").text == "Finished.")
    streamed = {pre.get_attribute("data-stream"): pre.text
                for pre in b.find_elements(By.CSS_SELECTOR, "#output pre")}
    assert sorted(streamed) == ["production", "staging"], streamed
    assert "Plan: 1 to add" in streamed["production"], streamed
    # staging's plan fails on the credential: Terraform quotes it, redacted.
    assert "tonumber(var.canary)" in streamed["staging"] and REDACTED in streamed["staging"]
    keep("job, streamed")
    shots.take("job-live")
    send.wait(planning)

    # The repository: the plans of the pull request, its locks; unlock one.
    visit(f"/repos/{REPO}")
    rows = {r.find_element(By.CSS_SELECTOR, "td").text: r.text
            for r in b.find_elements(By.CSS_SELECTOR, "tr.plan-row")}
    assert "production" in rows and "1 to add" in rows["production"], rows
    assert pull.head_sha[:7] in rows["production"]
    held = [r.text for r in b.find_elements(By.CSS_SELECTOR, "tr.lock-row")]
    assert len(held) == 2 and all("#1" in r for r in held), held
    shots.take("repository")
    b.find_element(By.ID, "unlock-production").click()
    b.switch_to.alert.accept()
    WebDriverWait(b, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.notice"))
    keep("repository, unlocked")
    assert [r.text.split()[0] for r in b.find_elements(By.CSS_SELECTOR, "tr.lock-row")] == [
        "staging"]
    assert locks.get(send.db, repo=REPO, environment="production") is None
    assert locks.get(send.db, repo=REPO, environment="staging") is not None
    told = [c["body"] for c in fake.bot_comments(REPO, pull.number) if "Released" in c["body"]]
    assert len(told) == 1 and "Released 1 lock(s)" in told[0] and "production" in told[0], told

    # The plan's full output, redacted.
    b.find_element(By.LINK_TEXT, "production").click()
    text = b.find_element(By.ID, "plan-output").text
    assert "Plan: 1 to add" in text and "(sensitive value)" in text, text
    keep("plan")
    shots.take("plan")

    # A failed job (its error quoting a token), retried from the jobs page.
    failing = payloads.comment(fake, REPO, pull, "/infrar help", "alice")
    deliveries.record(send.db, delivery_id="failed-1", event="issue_comment",
                      action="created", subject=subject_of("issue_comment", failing),
                      payload=json.dumps(failing).encode(),
                      error=f"GithubException: 502 for token {LEAKED_TOKEN}")
    visit("/jobs")
    row = b.find_element(By.ID, "job-failed-1")
    assert "failed" in row.text and "[redacted]" in row.text and LEAKED_TOKEN not in row.text
    shots.take("jobs")
    row.find_element(By.CSS_SELECTOR, "button.retry").click()
    WebDriverWait(b, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.notice"))
    wait_for(lambda: deliveries.status(send.db, "failed-1") == "done", what="the retried job",
             logs=logs)
    assert any("Infrar commands" in c["body"] for c in fake.bot_comments(REPO, pull.number))

    # An API token for scripts, shown once.
    visit("/settings")
    b.find_element(By.NAME, "name").send_keys("ci")
    b.find_element(By.ID, "create-token").click()
    token = b.find_element(By.ID, "new-token").text.strip()
    assert token.startswith("infrar_")
    visit("/settings")
    assert token not in b.page_source

    visit("/audit")
    actions = [r.text for r in b.find_elements(By.CSS_SELECTOR, "tr.audit-row")]
    for wanted in ("sign-in", "unlock", "retry", "create-token"):
        assert any(f"alice {wanted}" in a for a in actions), actions
    shots.take("audit")
    visit("/installations/77")
    assert "TF_VAR_canary" in b.page_source

    # A phone: nothing wider than the screen.
    b.set_window_size(390, 844)
    for path in ("/jobs", f"/jobs/{planning}", f"/repos/{REPO}"):
        visit(path)
        overflow = b.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    shots.take("repository-phone")

    seen.update(_api_responses(url, token, planning, b.get_cookie("infrar_session")["value"]))
    assert json.loads(seen["GET /api/repos/acme/hidden"])["error"]
    found = canaries._canaries(fake, encryption_key) | {
        "OAuth client secret": CLIENT_SECRET.encode(), "session key": SESSION_KEY.encode()}
    found |= {f"user token #{i}": t.encode() for i, t in enumerate(fake.user_tokens)}
    assert fake.user_tokens and len(seen) > 20
    assert canaries._found(seen, found) == []
    assert canaries._found(seen, {"a canary's prefix": b"CANARY"}) == []
    shots.publish(DOCS_IMAGES)


def _store_credentials(env: dict[str, str], tmp_path: Path) -> None:
    for environment, value in canaries.CREDENTIALS.items():
        stored = subprocess.run(
            [sys.executable, "-c", "from infrar.cli.main import main; main()", "app",
             "set-credential", "--repo", REPO, "-e", environment, "TF_VAR_canary"],
            input=value + "\n", env={**os.environ, **env}, capture_output=True, text=True,
            timeout=60, check=False)
        assert stored.returncode == 0, stored.stderr


def _api_responses(url: str, token: str, planning: str, cookie: str) -> dict[str, bytes]:
    api, browser = requests.Session(), requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    browser.cookies.set("infrar_session", cookie)
    found: dict[str, bytes] = {}

    def get(path: str, client: requests.Session = api) -> requests.Response:
        answer = client.get(url + path, timeout=60)
        found[f"GET {path}{' (session)' if client is browser else ''}"] = answer.content
        found[f"GET {path} (headers)"] = str(dict(answer.headers)).encode()
        return answer

    assert get("/api/me").json()["repos"] == [REPO]
    assert get("/api/installations").ok
    # Installation settings are for the admin's browser session, not for scripts.
    assert get("/api/installations/77/settings").status_code == 403
    assert get("/api/installations/77/settings", browser).json()["credentials"]
    repo = get(f"/api/repos/{REPO}").json()
    assert get("/api/repos/acme/hidden").status_code == 404
    for job in get("/api/jobs").json():
        assert get(f"/api/jobs/{job['id']}").ok
    for pull in repo["pulls"]:
        for plan in pull["plans"]:
            assert get(f"/api/plans/{plan['id']}").ok
    assert get("/api/audit").ok
    events = get(f"/jobs/{planning}/events")
    assert "event: end" in events.text and "Plan: 1 to add" in events.text
    return found


class _Gates:
    """Terraform behind a wrapper that, before `init` and before `show`, waits for the test to
    open the gate (at most two minutes), so a job is held where the test wants it without
    holding any answer of GitHub's (which the App's client would time out)."""

    def __init__(self, folder: Path, app_env: dict[str, str]) -> None:
        real = app_env.get("INFRAR_TF_BINARY") or shutil.which("terraform") or ""
        assert real and os.access(real, os.X_OK), "no Terraform binary to wrap"
        folder.mkdir()
        self.folder, self.script = folder, folder / "terraform"
        self.script.write_text(
            "#!/bin/sh\n"
            'case "$1" in init|show)\n'
            f'  touch "{folder}/waiting-$1"; i=0\n'
            f'  while [ ! -e "{folder}/open-$1" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1));'
            " done;;\n"
            "esac\n"
            f'exec "{real}" "$@"\n', encoding="utf-8")
        self.script.chmod(0o755)

    def waiting(self, command: str) -> bool:
        return (self.folder / f"waiting-{command}").exists()

    def open(self, command: str) -> None:
        (self.folder / f"open-{command}").touch()


class _Shots:
    def __init__(self, driver: Any, folder: Path) -> None:
        self.driver, self.folder = driver, folder
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, name: str) -> None:
        assert self.driver.save_screenshot(str(self.folder / f"{name}.png"))

    def publish(self, names: tuple[str, ...]) -> None:
        target = os.environ.get("INFRAR_DASHBOARD_DOCS_IMAGES")
        if target:
            for name in names:
                shutil.copyfile(self.folder / f"{name}.png", Path(target) / f"dashboard-{name}.png")
