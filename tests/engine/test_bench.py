"""The benchmark script runs (timings are for people to read, never asserted)."""

from __future__ import annotations

import re
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
    assert "whole corpus through the pipeline" in run.stdout
    # The output's shape, not its speed: an SDK file changes in its import and, for a plain
    # `import infrar[.storage]`, on the lines that name `infrar` (six at most in the corpus);
    # the native code lives in the package, once.
    size = re.search(r"output size: [\d.]+ lines changed per SDK file \(max (\d+)\); "
                     r"native package (\d+) lines \((.*)\)", run.stdout)
    assert size is not None, run.stdout
    assert 1 <= int(size.group(1)) <= 6
    assert int(size.group(2)) > 0
    assert [part.split(":")[0] for part in size.group(3).split(", ")] == [
        "infrar_native/__init__.py", "infrar_native/resources.py", "infrar_native/storage.py"]
