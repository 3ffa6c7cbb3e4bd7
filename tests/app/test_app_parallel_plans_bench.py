"""bench/parallel_plans.py in a tiny mode: two projects, pools of 1 and 2, one round, no
warm-up; it must finish and print its ratio (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openapi_routes import DESCRIPTION

BENCH = Path(__file__).resolve().parents[2] / "bench" / "parallel_plans.py"


def test_the_parallel_plans_bench_runs(tf_env: dict[str, str]) -> None:
    assert DESCRIPTION.is_file()  # the fake's payloads come from the npm examples
    done = subprocess.run([sys.executable, str(BENCH), "--projects", "2", "--workers", "2",
                           "--rounds", "1", "--warmup", "0"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 projects touched by one pull request" in done.stdout
    ratio = next(line for line in done.stdout.splitlines() if line.startswith("ratio"))
    assert float(ratio.split()[-4].rstrip("x,")) > 0, ratio
