# ruff: noqa: F403, F405
"""Re-exports by `*`: the SDK's errors module and its package, under other names.

`copy` is the standard library's: the star import of the errors module must not replace it.
"""

import copy

from infrar.storage import errors as failures
from infrar.storage.errors import *
from infrar.storage.types import ObjectInfo

__all__ = [
    "BucketNotFoundError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "PermissionDeniedError",
    "StorageError",
    "failures",
]


def snapshot(names):
    return copy.copy(names)
