"""Progress of long work (image builds, pushes, Terraform runs) where a person waits: in a
terminal a live table, one row per step with its state, elapsed time and latest output line
(rich); elsewhere (CI logs, pipes) plain lines as each step starts, prints and ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from infrar.engine.deploy import Progress

_LAST_LINE_WIDTH = 80


class PlainProgress:
    """One line per event, each prefixed by its step: readable in a log, and in order."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def start(self, step: str) -> None:
        self._print(f"==> {step}")

    def line(self, step: str, text: str) -> None:
        if text.strip():
            self._print(f"    {step} | {text}")

    def finish(self, step: str, *, ok: bool, seconds: float, detail: str = "") -> None:
        state = "ok" if ok else "FAILED"
        self._print(f"{state:6} {step} ({seconds:.1f}s)" + (f": {detail}" if detail else ""))

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


@dataclass
class _Row:
    step: str
    started: float
    state: str = "running"
    seconds: float | None = None
    last: str = ""


class RichProgress:
    """A live table redrawn a few times a second, so elapsed times move while a step runs."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        self.rows: list[_Row] = []
        self.console = Console(file=stream)
        self.live = Live(self, console=self.console, refresh_per_second=4, transient=False)

    def __rich__(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        for row in self.rows:
            seconds = row.seconds if row.seconds is not None else now - row.started
            mark: Any = Spinner("dots") if row.state == "running" else Text(
                "✓" if row.state == "ok" else "✗",
                style="green" if row.state == "ok" else "bold red")
            table.add_row(mark, Text(row.step, style="bold"), Text(f"{seconds:6.1f}s"),
                          Text(row.last[:_LAST_LINE_WIDTH], style="dim"))
        return table

    def start(self, step: str) -> None:
        self.rows.append(_Row(step, time.monotonic()))
        self.live.refresh()

    def line(self, step: str, text: str) -> None:
        row = self._row(step)
        if row is not None and text.strip():
            row.last = text.strip()

    def finish(self, step: str, *, ok: bool, seconds: float, detail: str = "") -> None:
        row = self._row(step)
        if row is not None:
            row.state, row.seconds = ("ok" if ok else "failed"), seconds
            row.last = detail
        self.live.refresh()

    def _row(self, step: str) -> _Row | None:
        return next((r for r in reversed(self.rows) if r.step == step), None)


@contextmanager
def progress_to(stream: TextIO) -> Iterator[Progress]:
    """Live progress on a terminal, plain lines otherwise."""
    if not stream.isatty():
        yield PlainProgress(stream)
        return
    live = RichProgress(stream)
    with live.live:
        yield live
