"""Message queues, written once, run anywhere.

Delivery is at least once and in no guaranteed order: a message that is not acknowledged
within its visibility timeout is delivered again. Bodies are text of at most 64 KiB as UTF-8.

Import-time cost is the standard library only. The provider is chosen at call time by
`INFRAR_PROVIDER` (`local` by default); every provider runs the very native code that
`infrar transform` would write into your module.
"""

from __future__ import annotations

from typing import Any

from infrar.queue.errors import QueueError, QueueNotFoundError
from infrar.queue.types import Message

__all__ = [
    "send",
    "receive",
    "ack",
    "QueueError",
    "QueueNotFoundError",
    "Message",
]


def _native(operation: str) -> Any:
    from infrar._runtime import native_operation

    return native_operation("queue", operation)


def send(queue: str, body: str, *, delay_seconds: int = 0) -> str:
    """Put `body` on `queue`, to be delivered after `delay_seconds` (0 to 900); return its id."""
    result: str = _native("send")(queue, body, delay_seconds=delay_seconds)
    return result


def receive(
    queue: str, *, max_messages: int = 1, wait_seconds: int = 0, visibility_timeout: int = 30
) -> list[Message]:
    """Up to `max_messages` (1 to 10) messages, waiting up to `wait_seconds` (0 to 20) for one;
    each is hidden from other receivers for `visibility_timeout` seconds (0 to 43200)."""
    result: list[Message] = _native("receive")(
        queue,
        max_messages=max_messages,
        wait_seconds=wait_seconds,
        visibility_timeout=visibility_timeout,
    )
    return result


def ack(queue: str, message: Message) -> None:
    """Delete a received `message`; one whose visibility ran out may be delivered again."""
    _native("ack")(queue, message)
