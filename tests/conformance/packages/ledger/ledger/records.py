"""Records and helpers whose annotations name the SDK's types as strings."""

import dataclasses

import infrar.storage

from .store import ObjectInfo


@dataclasses.dataclass(frozen=True)
class Entry:
    key: str
    info: "ObjectInfo"


def largest(infos: "list[ObjectInfo]") -> "infrar.storage.ObjectInfo":
    return max(infos, key=lambda info: (info.size, info.key))
