"""The one router the web face and the workers use: every handler module's router, composed.

A new handler module defines `router: Router[Context] = Router()`, registers on it with
`@router.on(...)`, and is added to the list below.
"""

from __future__ import annotations

from infrar.app.routing import Router
from infrar.app.workflow import closed, comments, installations, pull_request
from infrar.app.workflow.router import Context

ROUTER: Router[Context] = Router(
    closed.router,
    comments.router,
    installations.router,
    pull_request.router,
)
