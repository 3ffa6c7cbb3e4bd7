"""Shared by the Terraform runner tests; a module name unique across the test tree, since the
tests directory has no __init__.py."""

from __future__ import annotations

from pathlib import Path

SECRET = "hunter2-s3cr3t-Value"


def write_config(workdir: Path, files: dict[str, str]) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (workdir / name).write_text(text, encoding="utf-8")
    return workdir


def assert_balanced(part: str) -> None:
    """Every fence closed with its own marker, every <details> closed, outside fences."""
    fence: str | None = None
    depth = 0
    for line in part.split("\n"):
        stripped = line.strip()
        if fence is None and stripped.startswith("```"):
            fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
        elif fence is not None and stripped == fence:
            fence = None
        elif fence is None:
            depth += line.count("<details>") + line.count("<details ") - line.count("</details>")
            assert depth >= 0
    assert fence is None and depth == 0, part[-300:]
