"""The App's posting: app/github/publish.py, which the Action shares; named here for the
workflow modules."""

from __future__ import annotations

from infrar.app.github.publish import (
    REVIEW_PREFIX,
    SUPERSEDED,
    key_of,
    marker,
    publish_comment,
    publish_review,
)

__all__ = ["REVIEW_PREFIX", "SUPERSEDED", "key_of", "marker", "publish_comment",
           "publish_review"]
