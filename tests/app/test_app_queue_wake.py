"""Embedded workers take a delivery as soon as it is queued, however long they have been idle:
they wait between polls of the SQLite queue on a signal from this process's enqueues."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import payloads
import pytest
from app_support import SECRET, wait_for

from infrar.app import worker
from infrar.app.runtime import Runtime
from infrar.app.server import create_app
from infrar.app.settings import Settings
from infrar.app.signature import sign
from infrar.app.state import deliveries

HOUR = 3600.0


@pytest.fixture
def asleep(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once a worker has found the queue empty and gone to sleep for an hour."""
    event = threading.Event()
    sleep = worker._PromptWorker.sleep

    def noted(self: worker._PromptWorker) -> None:
        event.set()
        sleep(self)

    monkeypatch.setattr(worker._PromptWorker, "sleep", noted)
    monkeypatch.setattr(worker, "POLL_INITIAL_DELAY_S", HOUR)
    monkeypatch.setattr(worker, "POLL_MAX_DELAY_S", HOUR)
    return event


@pytest.fixture
def embedded(tmp_path: Path, asleep: threading.Event) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(Settings.from_env({
        "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_DATA_DIR": str(tmp_path / "data")}))
    workers = worker.Embedded(runtime, workers=1)
    workers.start()
    try:
        yield runtime
    finally:
        workers.stop()


def test_a_delivery_is_taken_at_once_by_workers_asleep_for_an_hour(
        embedded: Runtime, asleep: threading.Event) -> None:
    assert asleep.wait(30), "the worker never polled the queue"
    body = json.dumps(payloads.example("installation", "created")).encode()
    answer = create_app(embedded).test_client().post("/webhook", data=body, headers={
        "X-GitHub-Event": "installation", "X-GitHub-Delivery": "wake-1",
        "X-Hub-Signature-256": sign(SECRET.encode(), body), "Content-Type": "application/json"})
    assert answer.status_code == 202, answer.data
    # Without the signal, the worker would next poll in an hour; this waits a minute at most.
    wait_for(lambda: deliveries.status(embedded.db, "wake-1") == "done", timeout=60,
             what="the delivery to be run")
