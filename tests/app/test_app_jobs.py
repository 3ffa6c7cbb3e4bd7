"""Running a stored delivery: success, retry with backoff, give up after the last attempt; a
delivery that can never succeed (a payload lacking what its handler needs) fails at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from app_support import SECRET
from github import GithubException
from huey.exceptions import RetryTask

from infrar.app.jobs import run_delivery
from infrar.app.runtime import Runtime
from infrar.app.settings import Settings
from infrar.app.state import deliveries
from infrar.app.workflow.routes import ROUTER

EVENT = "infrar_test_event"  # GitHub never sends it; registered for these tests only
outcomes: list[str] = []


@ROUTER.on(EVENT, needs={"number?": "id"})
def _handler(_ctx: object, job: deliveries.Job) -> None:
    outcomes.append(job.id)
    if job.payload.get("fail") == "github":
        raise GithubException(502, {"message": "Server Error"}, {})
    if job.payload.get("fail") == "network":
        raise requests.ConnectionError("connection refused")
    if job.payload.get("fail"):
        raise RuntimeError("boom")


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime.from_settings(Settings.from_env({
        "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_DATA_DIR": str(tmp_path / "data")}))


def store(runtime: Runtime, delivery: str, body: bytes) -> None:
    assert deliveries.record(runtime.db, delivery_id=delivery, event=EVENT, action=None,
                             subject="acme/x#1", payload=body)


def test_a_delivery_runs_once(runtime: Runtime) -> None:
    store(runtime, "ok", b"{}")
    run_delivery(runtime, "ok")
    run_delivery(runtime, "ok")
    assert outcomes.count("ok") == 1 and deliveries.status(runtime.db, "ok") == "done"


def test_failures_are_retried_then_given_up(runtime: Runtime) -> None:
    store(runtime, "bad", b'{"fail": true}')
    for attempt in range(1, deliveries.MAX_ATTEMPTS):
        with pytest.raises(RetryTask) as retry:
            run_delivery(runtime, "bad")
        assert retry.value.delay == 2.0 ** attempt
        assert deliveries.status(runtime.db, "bad") == "queued"
    run_delivery(runtime, "bad")
    assert deliveries.status(runtime.db, "bad") == "failed"
    assert outcomes.count("bad") == deliveries.MAX_ATTEMPTS


def test_a_busy_pull_request_makes_the_next_job_wait(runtime: Runtime) -> None:
    store(runtime, "second", b"{}")
    assert deliveries.acquire_subject(runtime.db, "acme/x#1", "first", lease=60)
    with pytest.raises(RetryTask):
        run_delivery(runtime, "second")
    assert deliveries.status(runtime.db, "second") == "queued"


@pytest.mark.parametrize("kind", ["github", "network"])
def test_transient_errors_are_retried_with_backoff(runtime: Runtime, kind: str) -> None:
    store(runtime, kind, b'{"fail": "%s"}' % kind.encode())
    for attempt in (1, 2):
        with pytest.raises(RetryTask) as retry:
            run_delivery(runtime, kind)
        assert retry.value.delay == 2.0 ** attempt
        assert deliveries.status(runtime.db, kind) == "queued"


def _row(runtime: Runtime, delivery: str) -> tuple[int, str | None]:
    from infrar.app.state.models import Delivery

    with runtime.db.session() as s:
        row = s.get(Delivery, delivery)
        assert row is not None
        return row.attempts, row.error


def test_a_payload_its_handler_cannot_use_fails_once_without_retries(runtime: Runtime) -> None:
    store(runtime, "typed", b'{"number": "12"}')  # stored as by a version that did not check
    run_delivery(runtime, "typed")  # no RetryTask
    assert deliveries.status(runtime.db, "typed") == "failed"
    attempts, error = _row(runtime, "typed")
    assert attempts == 1 and error == "invalid payload: number is '12', not a positive integer"
    assert "typed" not in outcomes
    run_delivery(runtime, "typed")  # a stray queue message changes nothing
    assert _row(runtime, "typed")[0] == 1


def test_a_stored_payload_that_does_not_parse_fails_once(runtime: Runtime) -> None:
    store(runtime, "deep", b"[" * 100_000 + b"]" * 100_000)
    run_delivery(runtime, "deep")
    assert deliveries.status(runtime.db, "deep") == "failed"
    attempts, error = _row(runtime, "deep")
    assert attempts == 1 and error is not None and "does not parse" in error
