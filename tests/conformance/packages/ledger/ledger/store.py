"""The one module that imports the SDK's operations; the others import them from here."""

from infrar.storage import (
    BucketNotFoundError,
    ObjectInfo,
    ObjectNotFoundError,
    StorageError,
    copy,
    delete,
    exists,
    get_metadata,
    list_objects,
    read,
    write,
)
from ledger.errors import EntryMissing
from ledger.settings import ARCHIVE

__all__ = [
    "BucketNotFoundError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "StorageError",
    "copy",
    "delete",
    "describe",
    "exists",
    "fetch",
    "list_objects",
    "load",
    "read",
    "write",
]


def describe(key) -> "ObjectInfo":
    return get_metadata(ARCHIVE, key)


def fetch(key):
    """An archived entry; a missing one is the ledger's own error, caused by the SDK's."""
    try:
        return read(ARCHIVE, key)
    except ObjectNotFoundError as error:
        raise EntryMissing(key) from error


def load(bucket, key):
    """Errors propagate: the caller's module catches them."""
    return read(bucket, key)
