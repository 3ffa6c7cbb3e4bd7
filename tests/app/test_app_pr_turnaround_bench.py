"""bench/pr_turnaround.py in a tiny mode: one pull request, no warm-up, no idle time, the
project without checkov; it must finish and print its ratio (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openapi_routes import DESCRIPTION

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pr_turnaround.py"


def test_the_turnaround_bench_runs(tf_env: dict[str, str]) -> None:
    assert DESCRIPTION.is_file()  # the fake's payloads come from the npm examples
    done = subprocess.run([sys.executable, str(BENCH), "--rounds", "1", "--warmup", "0",
                           "--idle", "0", "--without-checkov", "--write-interval", "0"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "opened -> review, policy.checkov: false" in done.stdout
    assert "floor: clone + terraform init + plan" in done.stdout
    assert "POST /repos/acme/photos/pulls/1/reviews -> 200" in done.stdout
    *_, ratio, spread = next(line for line in done.stdout.splitlines()
                             if line.startswith("opened -> review")).split()
    assert float(ratio) > 0 and spread == f"{float(ratio):.2f}-{float(ratio):.2f}"
