"""Hand stuck deliveries back to the queue: never picked up, or their worker died."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from infrar.app.state import deliveries

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

log = logging.getLogger(__name__)


def sweep(runtime: Runtime) -> list[str]:
    settings = runtime.settings
    found = deliveries.stuck(runtime.db, lease=settings.lease_seconds,
                             requeue=settings.requeue_seconds)
    for delivery_id in found:
        log.info("re-enqueueing delivery %s", delivery_id)
        runtime.enqueue(delivery_id)
        deliveries.mark_enqueued(runtime.db, delivery_id)
    return found


def start(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    interval = max(min(runtime.settings.lease_seconds, runtime.settings.requeue_seconds) / 3, 0.5)

    def loop() -> None:
        while True:
            try:
                sweep(runtime)
            except Exception:
                log.exception("reaper sweep failed")
            if stop.wait(interval):
                return

    thread = threading.Thread(target=loop, name="infrar-reaper", daemon=True)
    thread.start()
    return thread
