"""Queue conformance: portable argument checks (made before any call), QueueNotFoundError for
a missing queue in every operation, and the Message type."""

import dataclasses
import os

from infrar.queue import Message, QueueError, QueueNotFoundError, ack, receive, send
from infrar.queue.errors import QueueError as QueueErrorFromSubmodule

QUEUE = os.environ["CONFORMANCE_QUEUE"]
MISSING = os.environ["CONFORMANCE_MISSING_QUEUE"]
NO_NAME = os.environ.get("CONFORMANCE_NO_QUEUE", "")  # a literal "" would not even transform


def show(label, value):
    print(f"{label}: {value}")


def refused(label, call):
    try:
        call()
    except (TypeError, ValueError) as error:
        show(label, f"{type(error).__name__}: {error}")
    else:
        show(label, "accepted")


def main():
    refused("bytes body", lambda: send(QUEUE, b"raw"))
    refused("None body", lambda: send(QUEUE, None))
    refused("empty body", lambda: send(QUEUE, ""))
    refused("NUL in body", lambda: send(QUEUE, "a\x00b"))
    refused("escape in body", lambda: send(QUEUE, "\x1b[1m"))
    refused("lone surrogate", lambda: send(QUEUE, "\ud800"))
    refused("noncharacter", lambda: send(QUEUE, "\uffff"))
    refused("too large", lambda: send(QUEUE, "€" * 21846))
    refused("delay too long", lambda: send(QUEUE, "x", delay_seconds=901))
    refused("negative delay", lambda: send(QUEUE, "x", delay_seconds=-1))
    refused("delay as float", lambda: send(QUEUE, "x", delay_seconds=1.5))
    refused("delay as bool", lambda: send(QUEUE, "x", delay_seconds=True))
    refused("no messages asked", lambda: receive(QUEUE, max_messages=0))
    refused("eleven messages", lambda: receive(QUEUE, max_messages=11))
    refused("wait too long", lambda: receive(QUEUE, wait_seconds=21))
    refused("visibility too long", lambda: receive(QUEUE, visibility_timeout=43201))
    refused("negative visibility", lambda: receive(QUEUE, visibility_timeout=-1))
    refused("queue not a str", lambda: send(123, "x"))
    refused("empty queue name", lambda: receive(NO_NAME))
    refused("ack a str", lambda: ack(QUEUE, "receipt"))
    refused("ack without receipt", lambda: ack(QUEUE, Message(id="1", body="x", receipt="")))
    show("nothing was sent", receive(QUEUE, max_messages=10))

    for name, call in (
        ("send", lambda: send(MISSING, "x")),
        ("receive", lambda: receive(MISSING)),
        ("receive waiting", lambda: receive(MISSING, wait_seconds=1)),
    ):
        try:
            call()
        except QueueNotFoundError as error:
            show(f"{name} on a missing queue raises QueueNotFoundError",
                 isinstance(error, QueueError) and isinstance(error, QueueErrorFromSubmodule))

    send(QUEUE, "real")
    [message] = receive(QUEUE, wait_seconds=5)
    try:
        ack(MISSING, message)
    except QueueNotFoundError:
        show("ack on a missing queue raises QueueNotFoundError", True)
    ack(QUEUE, message)

    show("Message fields", [field.name for field in dataclasses.fields(Message)])
    try:
        message.body = "changed"
    except dataclasses.FrozenInstanceError:
        show("Message is frozen", True)
    show("Message equality", Message("1", "b", "r") == Message(id="1", body="b", receipt="r"))
    show("QueueNotFoundError is a QueueError", issubclass(QueueNotFoundError, QueueError))
    show("QueueError is an Exception", issubclass(QueueError, Exception))


if __name__ == "__main__":
    main()
