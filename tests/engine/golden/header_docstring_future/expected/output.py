"""Reports: build them and keep them in object storage."""
from __future__ import annotations

from infrar_native.storage import write


def save(data: bytes) -> None:
    write("reports", "latest", data)
