"""Diagnostics: what the engine could not do, and exactly where."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message} [{self.code}]"


_PLACED = re.compile(r"(.*?):(\d+): (.*)", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    """A mistake in a YAML document (.infrar.yaml, a rule or plugin file), and where it is:
    `where` is the YAML path (`environments.dev.provider`, `(document)`), "" when not known;
    `line` and `column` count from 1, 0 when not known; `path` is "" for a problem of no file."""

    path: str
    line: int
    column: int
    where: str
    message: str

    def __str__(self) -> str:
        if not self.path:
            return self.message
        if self.where:
            return f"{self.path}:{self.line}: {self.where}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"

    @property
    def detail(self) -> str:
        """The message with its YAML path: what to show beside the line it is on."""
        return f"{self.where}: {self.message}" if self.where else self.message

    @classmethod
    def at(cls, path: object, line: int, where: str, message: str) -> Problem:
        return cls(str(path), line, 0, where, message)

    @classmethod
    def from_text(cls, text: str) -> Problem:
        """A problem given as text (`file:line: rest`), for code that does not build Problems;
        `str()` gives `text` back unchanged."""
        placed = _PLACED.fullmatch(text)
        if placed is None:
            return cls("", 0, 0, "", text)
        return cls(placed.group(1), int(placed.group(2)), 0, "", placed.group(3))


class EngineError(Exception):
    """A problem outside user code: a broken plugin, an unknown provider."""
