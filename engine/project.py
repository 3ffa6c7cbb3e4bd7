"""Detection over the files a user names (transformation goes through the pipeline)."""

from __future__ import annotations

from pathlib import Path

from infrar.engine.detect import Detection
from infrar.engine.tree import SourceTree


def detect_paths(paths: list[Path]) -> Detection:
    total = Detection()
    for _, found in SourceTree(paths).detect():
        total.uses += found.uses
        total.diagnostics += found.diagnostics
    return total
