"""A job's Terraform output as server-sent events, while the job runs.

Each stream is bounded: at most MAX_STREAMS at once (each holds a request thread of the
server), each for at most MAX_STREAM_S, with a comment line as heartbeat every HEARTBEAT_S so
that proxies keep the connection open. The browser's EventSource reconnects by itself and
says the last line it got (`Last-Event-ID`), so a bounded stream loses nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

from infrar.app.state import job_output
from infrar.app.state.deliveries import QUEUED, RUNNING

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

MAX_STREAMS = 3
MAX_STREAM_S = 120.0
HEARTBEAT_S = 10.0
POLL_S = 0.25
BATCH = 500
RECONNECT_MS = 1000

_slots = threading.BoundedSemaphore(MAX_STREAMS)


class Busy(Exception):
    """Every stream slot is taken."""


class Stream:
    """The events of one response; its slot is freed when the server closes it."""

    def __init__(self, runtime: Runtime, job_id: str, *, after: int) -> None:
        if not _slots.acquire(blocking=False):
            raise Busy()
        self._held = True
        self._events = _events(runtime, job_id, after=after)

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._events
        finally:
            self.close()

    def close(self) -> None:
        self._events.close()
        if self._held:
            self._held = False
            _slots.release()


def _events(runtime: Runtime, job_id: str, *, after: int) -> Generator[str, None, None]:
    from infrar.app.dashboard.queries import job_status

    started = beat = time.monotonic()
    yield f"retry: {RECONNECT_MS}\n\n"
    while True:
        found = job_output.lines(runtime.db, runtime.vault, job_id, after=after, limit=BATCH)
        for line in found:
            data = json.dumps({"stream": line.stream, "text": line.text})
            yield f"id: {line.id}\nevent: line\ndata: {data}\n\n"
            after = line.id
        if found:
            continue
        status = job_status(runtime, job_id)
        if status not in (QUEUED, RUNNING):
            yield f"event: end\ndata: {json.dumps({'status': status})}\n\n"
            return
        moment = time.monotonic()
        if moment - started > MAX_STREAM_S:
            return  # the browser reconnects from the last id it got
        if moment - beat > HEARTBEAT_S:
            beat = moment
            yield ": heartbeat\n\n"
        time.sleep(POLL_S)
