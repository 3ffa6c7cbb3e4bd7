"""Routers composed in one place (app/workflow/routes.py): each handler module has its own, and
the composed one matches what any of them matches, in the order they are listed."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from infrar.app import workflow
from infrar.app.routing import Router
from infrar.app.workflow.routes import ROUTER


def test_a_composed_router_runs_the_handlers_of_each_in_order() -> None:
    ran: list[str] = []
    first: Router[list[str]] = Router()
    second: Router[list[str]] = Router()

    @first.on("pull_request", "opened")
    def one(context: list[str], _job: Any) -> None:
        context.append("one")

    @second.on("pull_request")
    def two(context: list[str], _job: Any) -> None:
        context.append("two")

    @second.on("issue_comment", "created", when=lambda payload: "/infrar" in payload["body"])
    def three(context: list[str], _job: Any) -> None:
        context.append("three")

    both = Router(first, second)
    assert both.dispatch(ran, "pull_request", "opened", {}, None) == 2
    assert ran == ["one", "two"]
    assert both.handles("pull_request", "closed", {})
    assert not both.handles("issue_comment", "created", {"body": "thanks"})
    assert both.handles("issue_comment", "created", {"body": "/infrar plan"})
    assert not both.handles("push", None, {})


def test_every_handler_module_is_composed() -> None:
    listed = {id(r) for r in ROUTER._included}
    for info in pkgutil.iter_modules(workflow.__path__):
        module = importlib.import_module(f"{workflow.__name__}.{info.name}")
        own = getattr(module, "router", None)
        if isinstance(own, Router) and module.__name__ != "infrar.app.workflow.routes":
            assert id(own) in listed, f"{module.__name__}.router is not in routes.py"
