"""POST /webhook: signatures, malformed bodies, de-duplication, routing of GitHub's real
example payloads (npm @octokit/webhooks-examples), and refusal to start without a secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import payloads
import pytest
from app_support import SECRET
from flask.testing import FlaskClient

from infrar.app.runtime import Runtime
from infrar.app.server import create_app
from infrar.app.settings import Settings, SettingsError
from infrar.app.signature import sign
from infrar.app.state import deliveries
from infrar.app.workflow.routes import ROUTER

HANDLED = {("pull_request", a) for a in
           ("opened", "synchronize", "reopened", "ready_for_review", "closed")}
HANDLED |= {("installation", a) for a in
            ("created", "deleted", "suspend", "unsuspend", "new_permissions_accepted")}
HANDLED |= {("installation_repositories", "added"), ("installation_repositories", "removed")}


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime.from_settings(Settings.from_env({
        "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_DATA_DIR": str(tmp_path / "data")}))


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    return create_app(runtime).test_client()


def post(client: FlaskClient, event: str, payload: Any, *, delivery: str = "d-1",
         secret: str = SECRET, body: bytes | None = None, signature: str | None = None) -> Any:
    raw = json.dumps(payload).encode() if body is None else body
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
               "X-Hub-Signature-256": signature or sign(secret.encode(), raw)}
    return client.post("/webhook", data=raw, headers=headers, content_type="application/json")


def installation_payload() -> dict[str, Any]:
    return payloads.example("installation", "created")


def test_signature_is_required_and_checked(client: FlaskClient, runtime: Runtime) -> None:
    payload = installation_payload()
    assert post(client, "installation", payload, secret="wrong").status_code == 401
    raw = json.dumps(payload).encode()
    response = client.post("/webhook", data=raw, headers={
        "X-GitHub-Event": "installation", "X-GitHub-Delivery": "d-x"})
    assert response.status_code == 401
    tampered = post(client, "installation", payload, body=raw + b" ",
                    signature=sign(SECRET.encode(), raw))
    assert tampered.status_code == 401
    assert post(client, "installation", payload, signature="sha1=" + "0" * 40).status_code == 401
    assert runtime.queue.pending_count() == 0


def test_malformed_deliveries_get_400(client: FlaskClient) -> None:
    assert post(client, "installation", None, body=b"{not json").status_code == 400
    assert post(client, "installation", None, body=b"[1, 2]").status_code == 400
    assert post(client, "installation", None, body=b"\xff\xfe").status_code == 400
    assert post(client, "", installation_payload()).status_code == 400
    assert post(client, "installation", installation_payload(), delivery="").status_code == 400


def test_a_delivery_is_stored_queued_once_and_never_twice(client: FlaskClient,
                                                          runtime: Runtime) -> None:
    payload = installation_payload()
    first = post(client, "installation", payload, delivery="same")
    assert first.status_code == 202 and first.json["status"] == "queued"
    again = post(client, "installation", payload, delivery="same")
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert runtime.queue.pending_count() == 1
    assert deliveries.status(runtime.db, "same") == deliveries.QUEUED


def test_unhandled_events_are_acknowledged_without_work(client: FlaskClient,
                                                        runtime: Runtime) -> None:
    response = post(client, "star", payloads.example("star"))
    assert response.status_code == 200 and response.json["status"] == "ignored"
    ping = post(client, "ping", payloads.example("ping"), delivery="d-2")
    assert ping.status_code == 200
    assert runtime.queue.pending_count() == 0


def test_every_real_example_payload_is_answered_and_routed(client: FlaskClient,
                                                           runtime: Runtime) -> None:
    for index, (event, payload) in enumerate(payloads.all_examples()):
        action = payload.get("action")
        for variant, body in enumerate(_variants(event, payload)):
            response = post(client, event, body, delivery=f"ex-{index}-{variant}")
            assert response.status_code < 500, (event, action, response.data)
            expected = (event, action) in HANDLED and "installation" in body
            if event == "issue_comment":
                expected = variant == 1 and action == "created"
            queued = response.status_code == 202
            assert queued == expected, (event, action, variant, response.json)
            if queued:
                handlers = [r.handler.__name__ for r in ROUTER._matching(event, action, body)]
                assert handlers == [_handler_for(event, action)], (event, action, handlers)


def _variants(event: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The example as GitHub sent it, and as an App installation would receive it."""
    installed = json.loads(json.dumps(payload))
    installed.setdefault("installation", {"id": 1, "node_id": "x"})
    if event == "issue_comment":
        installed["issue"]["pull_request"] = {"url": "https://api.github.com/x"}
        installed["comment"]["body"] = "/infrar plan -e production"
    return [payload, installed]


def _handler_for(event: str, action: str | None) -> str:
    if event == "pull_request":
        return "on_closed" if action == "closed" else "on_pull_request_update"
    return {"issue_comment": "on_command", "installation": "on_installation",
            "installation_repositories": "on_repositories"}[event]


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"INFRAR_DATA_DIR": str(tmp_path)})
    proc = subprocess.run(
        [sys.executable, "-c", "from infrar.cli.main import main; main()", "app", "serve"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True,
        timeout=60, check=False)
    assert proc.returncode != 0
    assert "INFRAR_WEBHOOK_SECRET" in proc.stderr


# -- hostile bodies: signed, yet never a 500 ----------------------------------------------------


def _refused(response: Any, status: int, reason: str) -> None:
    assert response.status_code == status, response.data[:300]
    assert response.is_json and reason in response.json["error"], response.data[:300]
    assert len(response.data) < 500  # a short reason, never a page or a traceback


def test_hostile_signed_bodies_get_400_with_a_short_reason(client: FlaskClient,
                                                           runtime: Runtime) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    _refused(post(client, "installation", None, body=deep), 400, "nested too deeply")
    deep_object = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    _refused(post(client, "installation", None, body=deep_object), 400, "nested too deeply")
    utf16 = json.dumps(installation_payload()).encode("utf-16")
    _refused(post(client, "installation", None, body=utf16), 400, "not UTF-8")
    _refused(post(client, "installation", None, body=b'{"action": NaN}'), 400, "not JSON")
    _refused(post(client, "installation", None, body=b'{"a": ' + b"9" * 5000 + b"}"), 400,
             "not JSON")
    _refused(post(client, "x" * 101, installation_payload()), 400, "longer than 100")
    long_action = installation_payload() | {"action": "a" * 101}
    _refused(post(client, "installation", long_action), 400, "longer than 100")
    assert runtime.queue.pending_count() == 0


def test_a_body_past_25_mb_is_refused(client: FlaskClient) -> None:
    response = post(client, "installation", None, body=b" " * (25 * 1024 * 1024 + 1))
    _refused(response, 413, "too large")


def test_other_errors_are_short_json_too(client: FlaskClient) -> None:
    _refused(client.get("/no/such/page"), 404, "not found")
    _refused(client.get("/webhook"), 405, "method not allowed")


# -- payloads whose fields have the wrong types: failed once, never queued ----------------------


def _installed(event: str, action: str) -> dict[str, Any]:
    payload = payloads.example(event, action)
    payload.setdefault("installation", {"id": 1, "node_id": "x"})
    if event == "issue_comment":
        payload["issue"]["pull_request"] = {"url": "https://api.github.com/x"}
        payload["comment"]["body"] = "/infrar plan"
    return payload


def _broken() -> list[tuple[str, dict[str, Any], str]]:
    cases = []
    pr = _installed("pull_request", "opened")
    pr["pull_request"]["number"] = "7"
    cases.append(("pull_request", pr, "pull_request.number is '7', not a positive integer"))
    flag = _installed("pull_request", "synchronize")
    flag["installation"]["id"] = True
    cases.append(("pull_request", flag, "installation.id is a boolean"))
    closed = _installed("pull_request", "closed")
    closed["pull_request"]["head"] = "main"
    cases.append(("pull_request", closed, "pull_request.head is a string, not an object"))
    comment = _installed("issue_comment", "created")
    comment["comment"]["id"] = {"id": 1}
    del comment["comment"]["user"]["login"]
    cases.append(("issue_comment", comment, "comment.user.login is missing"))
    installation = _installed("installation", "created")
    installation["installation"]["account"] = ["acme"]
    installation["repositories"] = 5
    cases.append(("installation", installation, "repositories is an integer, not a list"))
    added = _installed("installation_repositories", "added")
    added["repositories_added"] = [{"full_name": 3}]
    cases.append(("installation_repositories", added,
                  "repositories_added[0].full_name is an integer"))
    repo = _installed("pull_request", "reopened")
    repo["repository"]["full_name"] = "../../etc"
    cases.append(("pull_request", repo, "repository.full_name is '../../etc', not owner/name"))
    return cases


def test_wrong_field_types_fail_once_with_the_reason_and_are_not_queued(
        client: FlaskClient, runtime: Runtime) -> None:
    from infrar.app.state.models import Delivery

    for index, (event, payload, reason) in enumerate(_broken()):
        delivery = f"broken-{index}"
        response = post(client, event, payload, delivery=delivery)
        _refused(response, 400, reason)
        assert deliveries.status(runtime.db, delivery) == deliveries.FAILED
        with runtime.db.session() as s:
            row = s.get(Delivery, delivery)
            assert row is not None and row.error is not None and reason in row.error
            assert row.attempts == 0 and row.finished_at is not None
        again = post(client, event, payload, delivery=delivery)
        assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert runtime.queue.pending_count() == 0


def test_another_bots_command_is_a_command(client: FlaskClient, runtime: Runtime) -> None:
    payload = _installed("issue_comment", "created")
    payload["comment"]["user"] |= {"login": "other-app[bot]", "type": "Bot"}
    payload["sender"] = payload["comment"]["user"]
    response = post(client, "issue_comment", payload, delivery="bot-command")
    assert response.status_code == 202 and response.json["status"] == "queued"
