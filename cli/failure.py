"""How a command ends with an error: helpers raise `CommandFailed`; only the command line's
entry (`infrar`'s group, cli/main.py) prints its lines and turns it into the exit code."""

from __future__ import annotations

from collections.abc import Iterable


class CommandFailed(Exception):
    """The command cannot go on: `lines` for stderr, `code` for the exit status."""

    def __init__(self, lines: Iterable[str], code: int) -> None:
        self.lines = tuple(lines)
        self.code = code
        super().__init__("\n".join(self.lines))
