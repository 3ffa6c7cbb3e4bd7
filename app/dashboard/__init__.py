"""The operator dashboard: pages and /api JSON, served by the App itself (see docs/dashboard.md).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response

from infrar.app.dashboard import api, tables, views
from infrar.app.dashboard.auth import Gate

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self'; connect-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def blueprint(runtime: Runtime) -> Blueprint:
    tables.create(runtime.db)
    gate = Gate(runtime)
    bp = Blueprint("dashboard", __name__, template_folder="templates",
                   static_folder="static", static_url_path="/dashboard/static")
    views.register(bp, runtime, gate)
    api.register(bp, runtime, gate)
    bp.add_app_template_filter(_when, "when")

    @bp.after_request
    def secure_headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return bp


def _when(moment: Any) -> str:
    if moment is None:
        return "—"
    stamp = dt.datetime.fromtimestamp(float(moment), dt.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")
