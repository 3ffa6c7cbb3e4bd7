"""The web face: POST /webhook (verify, store and enqueue, 202) and GET /healthz."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from infrar.app.ingest import MAX_BODY_BYTES, ingest

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> Flask:
    from infrar.app.dashboard import blueprint as dashboard
    from infrar.app.workflow.routes import ROUTER

    app = Flask("infrar.app")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.register_blueprint(dashboard(runtime))  # pages and /api: docs/dashboard.md

    @app.post("/webhook")
    def webhook() -> tuple[Response, int]:
        answer = ingest(secret=runtime.settings.webhook_secret, headers=request.headers,
                        body=request.get_data(cache=False), db=runtime.db,
                        handles=ROUTER.handles, problems=ROUTER.problems,
                        enqueue=runtime.enqueue, enqueue_in=runtime.enqueue_in)
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

    # Every answer is a short JSON reason, never an HTML page or a traceback.
    @app.errorhandler(413)
    def too_large(_error: Any) -> tuple[Response, int]:
        return jsonify({"error": "payload too large"}), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = error.code or 500
        return jsonify({"error": (error.name or "error").lower()}), code

    @app.errorhandler(Exception)
    def internal_error(_error: Exception) -> tuple[Response, int]:
        log.exception("%s %s failed", request.method, request.path)
        return jsonify({"error": "internal error"}), 500

    return app


def serve(runtime: Runtime, *, host: str, port: int, threads: int, embedded_workers: int,
          server: str = "waitress") -> None:
    """`waitress` (see app/httpd.py) is safe to expose directly; `flask` is Flask's
    development server, which holds a thread per connection: for development only."""
    from infrar.app.worker import Embedded

    embedded = Embedded(runtime, workers=embedded_workers) if embedded_workers > 0 else None
    app = create_app(runtime)
    if server == "waitress":
        from infrar.app import httpd

        httpd.serve(app, host=host, port=port, threads=threads,
                    on_start=embedded.start if embedded else lambda: None,
                    on_stop=embedded.stop if embedded else lambda: None)
        return
    from werkzeug.serving import make_server

    dev = make_server(host, port, app, threaded=True)
    if embedded:
        embedded.start()
    log.info("listening on http://%s:%d (development server)", host, dev.server_port)
    try:
        dev.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if embedded:
            embedded.stop()
