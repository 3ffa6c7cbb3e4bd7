"""Accept a webhook delivery: verify, de-duplicate, store, enqueue, answer at once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from infrar.app import signature
from infrar.app.state import deliveries
from infrar.app.state.db import Database

log = logging.getLogger(__name__)

MAX_DELIVERY_ID = 100


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def subject_of(event: str, payload: Mapping[str, Any]) -> str | None:
    """What a delivery is about; jobs about the same subject run one at a time."""
    repo = _obj(payload.get("repository")).get("full_name")
    number = _obj(payload.get("pull_request") or payload.get("issue")).get("number")
    if repo and number is not None:
        return f"{repo}#{number}"[:300]
    installation = _obj(payload.get("installation")).get("id")
    if event.startswith("installation") and installation is not None:
        return f"installation:{installation}"
    return repo


class Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


def ingest(*, secret: bytes, headers: Headers, body: bytes, db: Database,
           handles: Callable[[str, str | None, Mapping[str, Any]], bool],
           enqueue: Callable[[str], None],
           enqueue_in: Callable[[Session, str], None] | None = None) -> Answer:
    """With `enqueue_in` (queue and state in one SQLite file) the delivery and its queue message
    are one transaction, so the acknowledgement costs one durable write; otherwise the
    delivery is stored, then enqueued."""
    if not signature.is_valid(secret, body, headers.get("X-Hub-Signature-256")):
        return Answer(401, {"error": "missing or invalid X-Hub-Signature-256"})
    event = (headers.get("X-GitHub-Event") or "").strip()
    delivery_id = (headers.get("X-GitHub-Delivery") or "").strip()
    if not event or not delivery_id or len(delivery_id) > MAX_DELIVERY_ID:
        return Answer(400, {"error": "X-GitHub-Event and X-GitHub-Delivery are required"})
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Answer(400, {"error": "body is not JSON"})
    if not isinstance(payload, dict):
        return Answer(400, {"error": "body is not a JSON object"})
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    wanted = handles(event, action, payload)
    fresh = deliveries.record(
        db, delivery_id=delivery_id, event=event, action=action,
        subject=subject_of(event, payload) if wanted else None, payload=body if wanted else None,
        enqueue_in=enqueue_in)
    if not fresh:
        return Answer(200, {"status": "duplicate", "delivery": delivery_id})
    if not wanted:
        return Answer(200, {"status": "ignored", "delivery": delivery_id})
    if enqueue_in is None:
        try:
            enqueue(delivery_id)
        except Exception:
            log.exception("could not enqueue delivery %s; it stays queued in the database",
                          delivery_id)
    return Answer(202, {"status": "queued", "delivery": delivery_id})
