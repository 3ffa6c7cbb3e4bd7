"""Queue conformance: send, receive, ack, redelivery after the visibility timeout, delays and
the 64 KiB limit. Delivery order is not guaranteed, so bodies are printed sorted."""

import os
import time

from infrar.queue import Message, ack, receive, send

QUEUE = os.environ["CONFORMANCE_QUEUE"]


def show(label, value):
    print(f"{label}: {value}")


def gather(count, *, visibility_timeout=30, patience=30):
    """Receive until `count` messages arrived: a provider may hand out fewer than asked."""
    found = []
    until = time.monotonic() + patience
    while len(found) < count and time.monotonic() < until:
        found += receive(QUEUE, max_messages=10, wait_seconds=2,
                         visibility_timeout=visibility_timeout)
    return found


def main():
    bodies = ["alpha", "beta", "gamma ✓ 𝄞 <&> \"quoted\"\ttab\nnew line"]
    ids = [send(QUEUE, body) for body in bodies]
    show("ids are distinct strings", len(set(ids)) == 3 and all(isinstance(i, str) for i in ids))

    received = gather(3)
    show("received", sorted(m.body for m in received))
    show("received the sent ids", sorted(m.id for m in received) == sorted(ids))
    show("messages are Message", all(isinstance(m, Message) for m in received))
    show("receipts are strings", all(isinstance(m.receipt, str) and m.receipt for m in received))
    show("all hidden while in flight", receive(QUEUE, max_messages=10))
    for message in received:
        ack(QUEUE, message)
    show("after ack", receive(QUEUE, max_messages=10))

    # Not acknowledged in time: delivered again, same id, a new receipt.
    first_id = send(QUEUE, "unlucky")
    [first] = gather(1, visibility_timeout=1)
    [again] = gather(1, visibility_timeout=30)
    show("delivered again", (again.body, again.id == first.id == first_id))
    show("new receipt", again.receipt != first.receipt)
    ack(QUEUE, first)
    show("ack with the earlier receipt", "no error")
    ack(QUEUE, again)
    show("after the late ack", [m.body for m in receive(QUEUE, max_messages=10)])

    # Delayed: not delivered at once, delivered later.
    send(QUEUE, "later", delay_seconds=2)
    show("delayed message at once", receive(QUEUE, max_messages=10))
    [late] = gather(1)
    show("delayed message later", late.body)
    ack(QUEUE, late)

    # The largest body every provider carries: 64 KiB as UTF-8.
    largest = "é" * 1000 + "x" * (65536 - 2000)
    send(QUEUE, largest)
    [big] = gather(1)
    show("64 KiB body intact", big.body == largest and len(big.body.encode("utf-8")) == 65536)
    ack(QUEUE, big)
    try:
        send(QUEUE, largest + "x")
    except ValueError as error:
        show("one byte more", error)

    show("empty at the end", receive(QUEUE, max_messages=10))


if __name__ == "__main__":
    main()
