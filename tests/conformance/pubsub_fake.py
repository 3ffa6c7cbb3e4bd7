"""A Pub/Sub server in the test process, for the official client through PUBSUB_EMULATOR_HOST.

It serves exactly the calls the generated queue code makes (Publish, Pull, ModifyAckDeadline,
Acknowledge) with the request and response types google-cloud-pubsub ships, and records every
request, so tests can assert what the code asks of Pub/Sub, not only what it gets back.
Topics and subscriptions are made by `add_queue`, as Terraform would: one topic and one pull
subscription of the same name. Semantics follow Pub/Sub's documentation: a pulled message is
hidden until its ack deadline (the subscription's, then what ModifyAckDeadline sets), an ack
ID is valid until the message is delivered again, stale or unknown ack IDs are ignored.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import empty_pb2
from google.pubsub_v1 import types

HOST = "127.0.0.1"
ACK_DEADLINE_SECONDS = 10
"""The subscription's ack deadline, Pub/Sub's default."""
LONGEST_PULL_WAIT = 1.0
"""A pull without messages waits at most this long (and never past the client's deadline)."""


@dataclass
class _Held:
    message_id: str
    data: bytes
    attributes: dict[str, str]
    visible_at: float
    ack_id: str | None = None


@dataclass
class Request:
    method: str
    message: Any
    """The request as the server decoded it (a google.pubsub_v1 type)."""


@dataclass
class FakePubSub:
    project: str = "test-project"
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _topics: dict[str, list[str]] = field(default_factory=dict)
    _held: dict[str, list[_Held]] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: grpc.Server | None = None

    # --- set-up ------------------------------------------------------------------------------

    def topic(self, name: str) -> str:
        return f"projects/{self.project}/topics/{name}"

    def subscription(self, name: str) -> str:
        return f"projects/{self.project}/subscriptions/{name}"

    def add_queue(self, name: str) -> None:
        with self._changed:
            self._topics[self.topic(name)] = [self.subscription(name)]
            self._held[self.subscription(name)] = []

    def start(self) -> FakePubSub:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        server.add_generic_rpc_handlers((
            _service("google.pubsub.v1.Publisher", {
                "Publish": (self._publish, types.PublishRequest, types.PublishResponse),
            }),
            _service("google.pubsub.v1.Subscriber", {
                "Pull": (self._pull, types.PullRequest, types.PullResponse),
                "ModifyAckDeadline": (self._modify_ack_deadline, types.ModifyAckDeadlineRequest,
                                      None),
                "Acknowledge": (self._acknowledge, types.AcknowledgeRequest, None),
            }),
        ))
        self.port = server.add_insecure_port(f"{HOST}:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None

    @property
    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": f"{HOST}:{self.port}", "GOOGLE_CLOUD_PROJECT": self.project}

    def calls(self, method: str) -> list[Any]:
        return [r.message for r in self.requests if r.method == method]

    # --- the calls -------------------------------------------------------------------------

    def _record(self, method: str, message: Any) -> None:
        with self._changed:
            self.requests.append(Request(method, message))

    def _publish(self, request: types.PublishRequest, context: grpc.ServicerContext
                 ) -> types.PublishResponse:
        self._record("Publish", request)
        with self._changed:
            subscriptions = self._topics.get(request.topic)
            if subscriptions is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "Topic not found")
            if not request.messages:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "No messages to publish")
            ids = []
            for message in request.messages:
                if not message.data and not message.attributes:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                  "A message needs data or attributes")
                message_id = str(next(self._numbers))
                ids.append(message_id)
                for name in subscriptions:
                    self._held[name].append(_Held(message_id, bytes(message.data),
                                                  dict(message.attributes), time.monotonic()))
            self._changed.notify_all()
        return types.PublishResponse(message_ids=ids)

    def _pull(self, request: types.PullRequest, context: grpc.ServicerContext
              ) -> types.PullResponse:
        self._record("Pull", request)
        remaining = context.time_remaining()
        wait = LONGEST_PULL_WAIT if remaining is None else min(LONGEST_PULL_WAIT,
                                                               max(remaining - 0.2, 0.0))
        until = time.monotonic() + wait
        with self._changed:
            held = self._held.get(request.subscription)
            if held is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "Subscription does not exist")
            if request.max_messages < 1:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "max_messages must be positive")
            while True:
                now = time.monotonic()
                ready = [h for h in held if h.visible_at <= now][: request.max_messages]
                if ready or now >= until:
                    break
                self._changed.wait(min(until - now, 0.05))
            for item in ready:
                item.ack_id = f"{request.subscription}:{next(self._numbers)}"
                item.visible_at = now + ACK_DEADLINE_SECONDS
        return types.PullResponse(received_messages=[
            types.ReceivedMessage(ack_id=item.ack_id, message=types.PubsubMessage(
                data=item.data, attributes=item.attributes, message_id=item.message_id))
            for item in ready
        ])

    def _modify_ack_deadline(self, request: types.ModifyAckDeadlineRequest,
                             context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._record("ModifyAckDeadline", request)
        if not 0 <= request.ack_deadline_seconds <= 600:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "ack_deadline_seconds must be from 0 to 600")
        with self._changed:
            held = self._held.get(request.subscription)
            if held is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "Subscription does not exist")
            now, chosen = time.monotonic(), set(request.ack_ids)
            for item in held:
                if item.ack_id in chosen:
                    item.visible_at = now + request.ack_deadline_seconds
            self._changed.notify_all()
        return empty_pb2.Empty()

    def _acknowledge(self, request: types.AcknowledgeRequest, context: grpc.ServicerContext
                     ) -> empty_pb2.Empty:
        self._record("Acknowledge", request)
        with self._changed:
            held = self._held.get(request.subscription)
            if held is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "Subscription does not exist")
            chosen = set(request.ack_ids)
            held[:] = [item for item in held if item.ack_id not in chosen]
        return empty_pb2.Empty()


def _service(name: str, methods: dict[str, tuple[Callable[..., Any], Any, Any]]
             ) -> grpc.GenericRpcHandler:
    """A gRPC service from (handler, request type, response type) per method; None for
    google.protobuf.Empty. proto-plus types serialize with their class methods."""
    handlers = {
        method: grpc.unary_unary_rpc_method_handler(
            handler,
            request_deserializer=request_type.deserialize,
            response_serializer=(empty_pb2.Empty.SerializeToString if response_type is None
                                 else response_type.serialize),
        )
        for method, (handler, request_type, response_type) in methods.items()
    }
    return grpc.method_handlers_generic_handler(name, handlers)
