"""Which lines of a pull request's new side can carry a review comment: those in the diff."""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def commentable_lines(patch: str | None) -> set[int]:
    lines: set[int] = set()
    if not patch:
        return lines
    new_line = 0
    for raw in patch.split("\n"):
        hunk = _HUNK.match(raw)
        if hunk:
            new_line = int(hunk.group(1))
            continue
        if raw.startswith(("+", " ")):
            lines.add(new_line)
            new_line += 1
        elif raw.startswith("\\"):  # "\ No newline at end of file"
            continue
    return lines
