"""The web face: POST /webhook (verify, store and enqueue, 202) and GET /healthz."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import text

from infrar.app.ingest import ingest
from infrar.app.settings import Settings

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 26 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB


def create_app(runtime: Runtime) -> Flask:
    from infrar.app.workflow import router

    app = Flask("infrar.app")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.post("/webhook")
    def webhook() -> tuple[Response, int]:
        answer = ingest(secret=runtime.settings.webhook_secret, headers=request.headers,
                        body=request.get_data(cache=False), db=runtime.db,
                        handles=router.ROUTER.handles, enqueue=runtime.enqueue,
                        enqueue_in=runtime.enqueue_in)
        if answer.status >= 400:
            log.warning("webhook refused (%d): %s", answer.status, answer.body.get("error"))
        return jsonify(answer.body), answer.status

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            with runtime.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unreachable")
            return jsonify({"status": "unhealthy", "database": "unreachable"}), 503
        return jsonify({"status": "ok"}), 200

    @app.errorhandler(413)
    def too_large(_error: Any) -> tuple[Response, int]:
        return jsonify({"error": "payload too large"}), 413

    return app


def serve(settings: Settings, *, host: str, port: int, threads: int, embedded_workers: int,
          server: str = "gunicorn") -> None:
    if server == "gunicorn":
        _gunicorn(settings, host=host, port=port, threads=threads,
                  embedded_workers=embedded_workers)
        return
    from werkzeug.serving import make_server

    from infrar.app.runtime import Runtime
    from infrar.app.worker import Embedded

    runtime = Runtime.from_settings(settings)
    embedded = Embedded(runtime, workers=embedded_workers) if embedded_workers > 0 else None
    httpd = make_server(host, port, create_app(runtime), threaded=True)
    if embedded:
        embedded.start()
    log.info("listening on http://%s:%d", host, httpd.server_port)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if embedded:
            embedded.stop()


def _gunicorn(settings: Settings, *, host: str, port: int, threads: int,
              embedded_workers: int) -> None:
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    from infrar.app.runtime import Runtime
    from infrar.app.worker import Embedded

    started: list[Embedded] = []

    def start_embedded(_worker: object) -> None:
        for embedded in started:
            embedded.start()

    def stop_embedded(_server: object, _worker: object) -> None:
        for embedded in started:
            embedded.stop()

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # One process: embedded workers and SQLite want a single writing process; scale
            # out with more `infrar app serve` instances behind a balancer instead.
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("post_worker_init", start_embedded)
            self.cfg.set("worker_exit", stop_embedded)

        def load(self) -> Flask:
            # Built in the worker process, after the fork: no connection crosses it.
            runtime = Runtime.from_settings(settings)
            if embedded_workers > 0:
                started.append(Embedded(runtime, workers=embedded_workers))
            return create_app(runtime)

    _App().run()
