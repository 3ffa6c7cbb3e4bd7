"""Queue consumers: a standalone worker process, or threads inside the web server (embedded)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from huey.consumer import Consumer, Worker

from infrar.app import reaper, workdirs
from infrar.app.queue import QUEUED

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

log = logging.getLogger(__name__)

POLL_INITIAL_DELAY_S = 0.1
POLL_MAX_DELAY_S = 1.0
WAKE_CHECK_S = 0.1
"""How often a sleeping worker looks at the stop flag."""


def _start_drift_rounds(runtime: Runtime, stop: threading.Event) -> None:
    from infrar.app.workflow import drift_check  # the workflow is heavy: imported once started

    drift_check.start(runtime, stop)


class _PromptWorker(Worker):  # type: ignore[misc]
    """Between polls of an empty queue, wakes as soon as this process queues a delivery."""

    delay: float  # huey's, untyped
    max_delay: float
    default_delay: float
    backoff: float

    def sleep(self) -> None:
        self.delay = min(self.delay, self.max_delay)
        deadline = time.monotonic() + self.delay
        while not self.stop_flag.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self.delay *= self.backoff
                return
            if QUEUED.wait(min(left, WAKE_CHECK_S)):
                QUEUED.clear()
                self.delay = self.default_delay
                return


class _Consumer(Consumer):  # type: ignore[misc]
    worker_class = _PromptWorker


class _QuietConsumer(_Consumer):
    """A consumer that leaves signal handling to its host (the HTTP server, or the dev server)."""

    def _set_signal_handlers(self) -> None:
        pass


def run_worker(runtime: Runtime, *, workers: int) -> None:
    """Blocks: a consumer with `workers` threads, plus the reaper; stops on SIGINT/SIGTERM."""
    stop = threading.Event()
    workdirs.sweep(runtime.settings.data_dir)
    reaper.start(runtime, stop)
    _start_drift_rounds(runtime, stop)
    consumer = _Consumer(runtime.queue, workers=workers, worker_type="thread",
                         initial_delay=POLL_INITIAL_DELAY_S, max_delay=POLL_MAX_DELAY_S,
                         periodic=False)
    try:
        consumer.run()
    finally:
        stop.set()


class Embedded:
    """Worker threads in the web process: the default, zero-infrastructure deployment."""

    def __init__(self, runtime: Runtime, *, workers: int) -> None:
        self._stop = threading.Event()
        self._consumer = _QuietConsumer(runtime.queue, workers=workers, worker_type="thread",
                                        initial_delay=POLL_INITIAL_DELAY_S,
                                        max_delay=POLL_MAX_DELAY_S, periodic=False,
                                        check_worker_health=False)
        self._runtime = runtime

    def start(self) -> None:
        workdirs.sweep(self._runtime.settings.data_dir)
        reaper.start(self._runtime, self._stop)
        _start_drift_rounds(self._runtime, self._stop)
        self._consumer.start()
        log.info("embedded workers started")

    def stop(self) -> None:
        self._stop.set()
        self._consumer.stop(graceful=True)
