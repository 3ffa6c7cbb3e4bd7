from typing import Optional

from infrar_native.storage import ObjectInfo, get_metadata


def describe(key: str) -> ObjectInfo:
    info: ObjectInfo = get_metadata("b", key)
    return info


def maybe(info: Optional[ObjectInfo] = None) -> "str":
    return repr(info)
