"""Route (event, action) to small handlers, bedevere-style: `@router.on("pull_request", "opened")`.

A handler may carry a `when` predicate on the payload, so deliveries nobody would act on (a
comment that is not a command) are acknowledged without queueing any work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

C = TypeVar("C")
Payload = Mapping[str, Any]
ANY_ACTION = "*"


@dataclass(frozen=True)
class _Route(Generic[C]):
    handler: Callable[[C, Any], None]
    when: Callable[[Payload], bool] | None


class Router(Generic[C]):
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[_Route[C]]] = {}

    def on(self, event: str, *actions: str, when: Callable[[Payload], bool] | None = None
           ) -> Callable[[Callable[[C, Any], None]], Callable[[C, Any], None]]:
        def register(handler: Callable[[C, Any], None]) -> Callable[[C, Any], None]:
            for action in actions or (ANY_ACTION,):
                self._routes.setdefault((event, action), []).append(_Route(handler, when))
            return handler

        return register

    def _matching(self, event: str, action: str | None, payload: Payload) -> list[_Route[C]]:
        routes = self._routes.get((event, action), []) if action else []
        routes = routes + self._routes.get((event, ANY_ACTION), [])
        return [r for r in routes if r.when is None or r.when(payload)]

    def handles(self, event: str, action: str | None, payload: Payload) -> bool:
        return bool(self._matching(event, action, payload))

    def dispatch(self, context: C, event: str, action: str | None, payload: Payload,
                 job: Any) -> int:
        routes = self._matching(event, action, payload)
        for route in routes:
            route.handler(context, job)
        return len(routes)
