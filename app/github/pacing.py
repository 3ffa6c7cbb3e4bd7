"""Pacing of write calls to GitHub, against its secondary rate limits.

GitHub asks integrations to space their writes (about one a second) and refuses more than 80
content-creating requests a minute. A fixed gap after every write, as PyGithub's
`seconds_between_writes` gives, makes a pull request wait a second between its check run and
its review even when nothing else was written for minutes. A token bucket keeps the long-run
rate at one write per `interval` while a short burst goes out at once: in any minute at most
`BURST` + 60 / `interval` writes, 65 with the defaults.

One bucket per GitHub server and account, shared by every client of the process, so that
concurrent jobs for one installation share its budget instead of each having its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

BURST = 5
"""Writes that may go at once after a quiet spell: a pull request's plan makes three or four
(its check run, the review, the check run completed)."""

_buckets: dict[tuple[str, str], WritePacer] = {}
_buckets_lock = threading.Lock()


class WritePacer:
    def __init__(self, interval: float, *, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval
        self.burst = burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Wait until a write may go; the seconds waited. Each call takes its slot before it
        sleeps, so concurrent writers queue up rather than all waking at once."""
        if self.interval <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst),
                               self._tokens + (now - self._updated) / self.interval)
            self._updated = now
            self._tokens -= 1.0
            delay = max(0.0, -self._tokens * self.interval)
        if delay:
            self._sleep(delay)
        return delay


def pacer_for(api_url: str, account: str, interval: float) -> WritePacer:
    """The process's bucket for `account` (a repository's owner) on the server at `api_url`."""
    key = (api_url.rstrip("/"), account.lower())
    with _buckets_lock:
        found = _buckets.get(key)
        if found is None or found.interval != interval:
            found = _buckets[key] = WritePacer(interval)
        return found
