"""The benchmark script runs (timings are for people to read, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "transform_bench.py"


def test_bench_runs_in_tiny_mode() -> None:
    pytest.importorskip("libcst")
    run = subprocess.run([sys.executable, str(BENCH), "--files", "10", "--repeat", "1"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "corpus: 10 files (2 use the SDK)" in run.stdout
    assert "(a) 2 SDK files" in run.stdout and "ratio" in run.stdout
    assert "(b) 8 files without infrar" in run.stdout and "cheaper" in run.stdout
