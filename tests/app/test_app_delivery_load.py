"""bench/delivery_load.py in a tiny mode: a small concurrent burst of signed deliveries (and
re-sent duplicates) against the real server with embedded workers on SQLite, and against the
server and a separate worker on Redis and PostgreSQL: every delivery processed exactly once.
Only correctness is asserted, never timings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "delivery_load.py"


def test_small_burst_is_processed_exactly_once(postgres_url: str, redis_url: str) -> None:
    redis_plain = redis_url.split("?", 1)[0]
    done = subprocess.run(
        [sys.executable, str(BENCH), "--deliveries", "60", "--clients", "4",
         "--duplicates", "0.2", "--redis", redis_plain, "--database-url", postgres_url],
        capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["sqlite", "redis-postgres"], done.stdout
    for line in lines:
        assert "60/60 acked, 12/12 duplicates refused" in line, line
        assert line.endswith("exactly once"), line
