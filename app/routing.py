"""Route (event, action) to small handlers, bedevere-style: `@router.on("pull_request", "opened")`.

Each handler module has a router of its own; one module composes them, gidgethub-style:
`Router(closed.router, comments.router, ...)` matches what its own routes and theirs match.
A handler may carry a `when` predicate on the payload, so deliveries nobody would act on (a
comment that is not a command) are acknowledged without queueing any work, and `needs`, the
fields it reads (see app/fields.py), so a delivery it could never handle fails at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from infrar.app import fields

C = TypeVar("C")
Payload = Mapping[str, Any]
ANY_ACTION = "*"


@dataclass(frozen=True)
class _Route(Generic[C]):
    handler: Callable[[C, Any], None]
    when: Callable[[Payload], bool] | None
    needs: fields.Spec


class Router(Generic[C]):
    def __init__(self, *routers: Router[C]) -> None:
        """A router of its own routes, then those of `routers`, in that order."""
        self._routes: dict[tuple[str, str], list[_Route[C]]] = {}
        self._included = routers

    def on(self, event: str, *actions: str, when: Callable[[Payload], bool] | None = None,
           needs: fields.Spec | None = None
           ) -> Callable[[Callable[[C, Any], None]], Callable[[C, Any], None]]:
        def register(handler: Callable[[C, Any], None]) -> Callable[[C, Any], None]:
            route = _Route(handler, when, needs or {})
            for action in actions or (ANY_ACTION,):
                self._routes.setdefault((event, action), []).append(route)
            return handler

        return register

    def _matching(self, event: str, action: str | None, payload: Payload) -> list[_Route[C]]:
        routes = self._routes.get((event, action), []) if action else []
        routes = routes + self._routes.get((event, ANY_ACTION), [])
        found = [r for r in routes if r.when is None or r.when(payload)]
        for router in self._included:
            found += router._matching(event, action, payload)
        return found

    def handles(self, event: str, action: str | None, payload: Payload) -> bool:
        return bool(self._matching(event, action, payload))

    def problems(self, event: str, action: str | None, payload: Payload) -> list[str]:
        """What the payload lacks for the handlers that would run it; empty when nothing."""
        found: list[str] = []
        for route in self._matching(event, action, payload):
            found += [p for p in fields.problems(payload, route.needs) if p not in found]
        return found[:fields.MAX_PROBLEMS]

    def dispatch(self, context: C, event: str, action: str | None, payload: Payload,
                 job: Any) -> int:
        """Run the matching handlers; PayloadError, before any runs, when the payload lacks a
        field one of them needs."""
        routes = self._matching(event, action, payload)
        found = self.problems(event, action, payload)
        if found:
            raise fields.PayloadError("; ".join(found))
        for route in routes:
            route.handler(context, job)
        return len(routes)
