"""Annotations evaluated late, naming the SDK through the package and through its modules."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import infrar.storage
from infrar import storage

if TYPE_CHECKING:
    from infrar.storage.types import ObjectInfo


@dataclasses.dataclass
class Frame:
    name: str
    info: infrar.storage.ObjectInfo
    previous: storage.ObjectInfo | None = None


def frame(name: str, info: ObjectInfo) -> Frame:
    return Frame(name, info)


def label(error: infrar.storage.errors.StorageError) -> str:
    return type(error).__name__
