"""Queue consumers: a standalone worker process, or threads inside the web server (embedded)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from huey.consumer import Consumer

from infrar.app import reaper, workdirs

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

log = logging.getLogger(__name__)

POLL_MAX_DELAY_S = 1.0


def _start_drift_rounds(runtime: Runtime, stop: threading.Event) -> None:
    from infrar.app.workflow import drift_check  # the workflow is heavy: imported once started

    drift_check.start(runtime, stop)


class _QuietConsumer(Consumer):  # type: ignore[misc]
    """A consumer that leaves signal handling to its host (the HTTP server, or the dev server)."""

    def _set_signal_handlers(self) -> None:
        pass


def run_worker(runtime: Runtime, *, workers: int) -> None:
    """Blocks: a consumer with `workers` threads, plus the reaper; stops on SIGINT/SIGTERM."""
    stop = threading.Event()
    workdirs.sweep(runtime.settings.data_dir)
    reaper.start(runtime, stop)
    _start_drift_rounds(runtime, stop)
    consumer = Consumer(runtime.queue, workers=workers, worker_type="thread",
                        max_delay=POLL_MAX_DELAY_S, periodic=False)
    try:
        consumer.run()
    finally:
        stop.set()


class Embedded:
    """Worker threads in the web process: the default, zero-infrastructure deployment."""

    def __init__(self, runtime: Runtime, *, workers: int) -> None:
        self._stop = threading.Event()
        self._consumer = _QuietConsumer(runtime.queue, workers=workers, worker_type="thread",
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
