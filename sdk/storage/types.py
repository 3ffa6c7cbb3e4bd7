"""Value types returned by `infrar.storage`."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ObjectInfo:
    """What `get_metadata` returns, the same on every provider."""

    key: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime.datetime
    metadata: dict[str, str] = field(default_factory=dict)
