"""Value types returned by `infrar.queue`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """A received message: `id` is the same on every delivery, `receipt` names this one."""

    id: str
    body: str
    receipt: str
