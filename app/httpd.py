"""The production HTTP server of `infrar app serve`: safe to expose directly.

waitress reads every connection in one event loop (poll) and hands a request to a request
thread only once it has arrived whole, headers and body; so a slow client holds a socket,
never a thread, and `/healthz` and deliveries keep being answered while any number of clients
trickle bytes. On top of waitress's own bounds (idle connections, header and body sizes, open
connections) a request must arrive whole within READ_TIMEOUT_S of its first byte: a client
sending a byte now and then, which keeps a connection from ever being idle, is cut off there.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from waitress import wasyncore  # type: ignore[import-untyped]
from waitress.adjustments import Adjustments  # type: ignore[import-untyped]
from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.parser import HTTPRequestParser  # type: ignore[import-untyped]
from waitress.server import TcpWSGIServer  # type: ignore[import-untyped]
from waitress.task import ThreadedTaskDispatcher  # type: ignore[import-untyped]

log = logging.getLogger(__name__)
access_log = logging.getLogger("infrar.app.access")

# GitHub waits 10 s for an answer and then counts the delivery as failed, so a request that
# takes longer than that to arrive is not one GitHub is still waiting for.
READ_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 10.0  # a connection that sends and receives nothing (also between requests)
MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
MAX_HEADER_BYTES = 64 * 1024  # request line and headers
CONNECTION_LIMIT = 1000  # open connections; past it, new ones wait in the listen backlog
SWEEP_INTERVAL_S = 1.0  # how often deadlines are checked
LOOP_TIMEOUT_S = 1.0  # the event loop wakes at least this often (stop requests, sweeps)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _TimedParser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's parser, stamped with when the request's first byte arrived."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.monotonic()


class _Channel(HTTPChannel):  # type: ignore[misc]
    parser_class = _TimedParser


class _Server(TcpWSGIServer):  # type: ignore[misc]
    channel_class = _Channel

    def maintenance(self, now: float) -> None:
        """Runs in the event loop every SWEEP_INTERVAL_S: waitress closes idle connections;
        this also closes those whose request has not arrived whole in time."""
        super().maintenance(now)
        cutoff = time.monotonic() - READ_TIMEOUT_S
        for channel in list(self.active_channels.values()):
            request = channel.request
            if (request is not None and not request.completed and not channel.requests
                    and request.started < cutoff):
                log.info("closing %s: request not received whole within %.0f s",
                         channel.addr[0] if channel.addr else "a client", READ_TIMEOUT_S)
                channel.will_close = True


def adjustments(*, host: str, port: int, threads: int) -> Adjustments:
    return Adjustments(
        host=host, port=port, threads=threads, ident="infrar",
        channel_timeout=IDLE_TIMEOUT_S, cleanup_interval=SWEEP_INTERVAL_S,
        max_request_body_size=MAX_BODY_BYTES, max_request_header_size=MAX_HEADER_BYTES,
        connection_limit=CONNECTION_LIMIT, asyncore_use_poll=True,
        asyncore_loop_timeout=LOOP_TIMEOUT_S, expose_tracebacks=False)


def _with_access_log(app: WSGIApp) -> WSGIApp:
    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            access_log.info("%s %s %s %s", environ.get("REMOTE_ADDR", "-"),
                            environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "-"),
                            status.split(" ", 1)[0])
            return start_response(status, headers, *rest)

        return app(environ, start)

    return logged


def serve(app: WSGIApp, *, host: str, port: int, threads: int,
          on_start: Callable[[], None] = lambda: None,
          on_stop: Callable[[], None] = lambda: None) -> None:
    """Serve until SIGTERM or SIGINT; `on_start` runs once listening, `on_stop` on the way
    out (after the request threads are done)."""
    adj = adjustments(host=host, port=port, threads=threads)
    socket_map: dict[int, Any] = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    wrapped = _with_access_log(app)
    servers = [_Server(wrapped, map=socket_map, dispatcher=dispatcher, adj=adj, sockinfo=info)
               for info in adj.listen]
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # the loop notices within LOOP_TIMEOUT_S

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for server in servers:
            log.info("listening on http://%s:%s", server.effective_host, server.effective_port)
        on_start()
        while not stop.is_set() and socket_map:
            wasyncore.loop(timeout=LOOP_TIMEOUT_S, map=socket_map, use_poll=True, count=1)
    finally:
        for server in servers:
            server.close()
        dispatcher.shutdown(cancel_pending=True, timeout=5)
        wasyncore.close_all(socket_map)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        on_stop()
