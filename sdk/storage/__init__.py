"""Object storage, written once, run anywhere.

Import-time cost is the standard library only. The provider is chosen at call time by
`INFRAR_PROVIDER` (`local` by default); every provider runs the very native code that
`infrar transform` would write into your module.
"""

from __future__ import annotations

from typing import Any

from infrar.storage.errors import (
    BucketNotFoundError,
    ObjectNotFoundError,
    PermissionDeniedError,
    StorageError,
)
from infrar.storage.types import ObjectInfo

__all__ = [
    "upload",
    "download",
    "write",
    "read",
    "delete",
    "exists",
    "list_objects",
    "copy",
    "get_metadata",
    "generate_signed_url",
    "StorageError",
    "ObjectNotFoundError",
    "BucketNotFoundError",
    "PermissionDeniedError",
    "ObjectInfo",
]


def _native(operation: str) -> Any:
    from infrar._runtime import native_operation

    return native_operation("storage", operation)


def upload(
    bucket: str,
    source: str,
    destination: str,
    *,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """Upload the local file `source` to `destination` in `bucket`."""
    _native("upload")(bucket, source, destination, content_type=content_type, metadata=metadata)


def download(bucket: str, source: str, destination: str) -> None:
    """Download object `source` from `bucket` to the local file `destination`."""
    _native("download")(bucket, source, destination)


def write(
    bucket: str,
    key: str,
    data: bytes | str,
    *,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """Store `data` (bytes, or str encoded as UTF-8) under `key`."""
    _native("write")(bucket, key, data, content_type=content_type, metadata=metadata)


def read(bucket: str, key: str) -> bytes:
    """Return the bytes stored under `key`."""
    result: bytes = _native("read")(bucket, key)
    return result


def delete(bucket: str, path: str) -> None:
    """Delete the object `path`; deleting a missing object is not an error."""
    _native("delete")(bucket, path)


def exists(bucket: str, key: str) -> bool:
    """Tell whether an object is stored under `key`."""
    return bool(_native("exists")(bucket, key))


def list_objects(bucket: str, prefix: str = "", *, max_results: int | None = None) -> list[str]:
    """Every key under `prefix`, across all pages, sorted; at most `max_results`."""
    result: list[str] = _native("list_objects")(bucket, prefix, max_results=max_results)
    return result


def copy(
    bucket: str, source: str, destination: str, *, destination_bucket: str | None = None
) -> None:
    """Copy object `source` to `destination`, in `destination_bucket` when given."""
    _native("copy")(bucket, source, destination, destination_bucket=destination_bucket)


def get_metadata(bucket: str, key: str) -> ObjectInfo:
    """Size, content type, etag, modification time and user metadata of `key`."""
    result: ObjectInfo = _native("get_metadata")(bucket, key)
    return result


def generate_signed_url(
    bucket: str, key: str, *, expires_in: int = 3600, method: str = "GET"
) -> str:
    """A URL that grants `method` on `key` for `expires_in` seconds without credentials."""
    result: str = _native("generate_signed_url")(
        bucket, key, expires_in=expires_in, method=method
    )
    return result
