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

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
MAX_NAME = 100  # delivery ids, event and action names: the width of their columns


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


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def ingest(*, secret: bytes, headers: Headers, body: bytes, db: Database,
           handles: Callable[[str, str | None, Mapping[str, Any]], bool],
           enqueue: Callable[[str], None],
           enqueue_in: Callable[[Session, str], None] | None = None,
           problems: Callable[[str, str | None, Mapping[str, Any]], list[str]] | None = None
           ) -> Answer:
    """With `enqueue_in` (queue and state in one SQLite file) the delivery and its queue message
    are one transaction, so the acknowledgement costs one durable write; otherwise the
    delivery is stored, then enqueued.

    `problems` names the fields a handler needs that the payload lacks or has of the wrong type:
    such a delivery can never succeed, so it is recorded as failed, with the reason, and not
    queued (answered 400)."""
    if len(body) > MAX_BODY_BYTES:  # the servers refuse it before reading it; this is a backstop
        return Answer(413, {"error": "payload too large"})
    if not signature.is_valid(secret, body, headers.get("X-Hub-Signature-256")):
        return Answer(401, {"error": "missing or invalid X-Hub-Signature-256"})
    event = (headers.get("X-GitHub-Event") or "").strip()
    delivery_id = (headers.get("X-GitHub-Delivery") or "").strip()
    if not event or not delivery_id:
        return Answer(400, {"error": "X-GitHub-Event and X-GitHub-Delivery are required"})
    if len(event) > MAX_NAME or len(delivery_id) > MAX_NAME:
        return Answer(400, {"error": f"X-GitHub-Event or X-GitHub-Delivery is longer than "
                                     f"{MAX_NAME} characters"})
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        return Answer(400, {"error": "body is nested too deeply"})
    except UnicodeDecodeError:
        return Answer(400, {"error": "body is not UTF-8"})
    except ValueError:
        return Answer(400, {"error": "body is not JSON"})
    if not isinstance(payload, dict):
        return Answer(400, {"error": "body is not a JSON object"})
    action = payload.get("action")
    if not isinstance(action, str):
        action = None
    elif len(action) > MAX_NAME:
        return Answer(400, {"error": f"action is longer than {MAX_NAME} characters"})
    wanted = handles(event, action, payload)
    found = problems(event, action, payload) if wanted and problems is not None else []
    error = f"invalid payload: {'; '.join(found)}" if found else None
    fresh = deliveries.record(
        db, delivery_id=delivery_id, event=event, action=action,
        subject=subject_of(event, payload) if wanted and not error else None,
        payload=body if wanted else None, error=error, enqueue_in=enqueue_in)
    if not fresh:
        return Answer(200, {"status": "duplicate", "delivery": delivery_id})
    if not wanted:
        return Answer(200, {"status": "ignored", "delivery": delivery_id})
    if error:
        log.warning("delivery %s (%s.%s) recorded as failed: %s", delivery_id, event, action,
                    error)
        return Answer(400, {"error": error, "delivery": delivery_id})
    if enqueue_in is None:
        try:
            enqueue(delivery_id)
        except Exception:
            log.exception("could not enqueue delivery %s; it stays queued in the database",
                          delivery_id)
    return Answer(202, {"status": "queued", "delivery": delivery_id})
