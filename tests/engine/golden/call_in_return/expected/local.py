import os
import pathlib
from urllib.parse import quote
import json
import datetime
import dataclasses
import hashlib


class _infrar_StorageError(Exception):
    """Base class of every storage error."""


class _infrar_ObjectNotFoundError(_infrar_StorageError):
    """The object (key) does not exist in the bucket."""


class _infrar_BucketNotFoundError(_infrar_StorageError):
    """The bucket does not exist."""


class _infrar_PermissionDeniedError(_infrar_StorageError):
    """The caller may not perform the operation."""


def _infrar_local_bucket(bucket, must_exist=True):
    root = pathlib.Path(os.environ.get("INFRAR_LOCAL_ROOT") or ".infrar/local")
    folder = root / bucket
    if not bucket or "/" in bucket or "\\" in bucket or bucket.startswith(".") or (must_exist and not folder.is_dir()):
        raise _infrar_BucketNotFoundError(f"bucket {bucket!r} does not exist (looked in {root})")
    return folder


def _infrar_local_object(bucket, key):
    if not isinstance(key, str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return _infrar_local_bucket(bucket) / quote(key, safe="")


def _infrar_local_meta(bucket, key):
    folder = _infrar_local_bucket(bucket).parent / ".infrar-meta" / bucket
    return folder / (quote(key, safe="") + ".json")


def _infrar_read(bucket, key):
    try:
        return _infrar_local_object(bucket, key).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise _infrar_ObjectNotFoundError(f"{key!r} not found in bucket {bucket!r}") from None


def _infrar_exists(bucket, key):
    return _infrar_local_object(bucket, key).is_file()


_infrar_default_content_type = "application/octet-stream"


def _infrar_local_load_meta(bucket, key):
    try:
        return json.loads(_infrar_local_meta(bucket, key).read_bytes())
    except FileNotFoundError:
        return {"content_type": _infrar_default_content_type, "metadata": {}}


@dataclasses.dataclass(frozen=True)
class _infrar_ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime.datetime
    metadata: "dict[str, str]" = dataclasses.field(default_factory=dict)


def _infrar_get_metadata(bucket, key):
    data = _infrar_read(bucket, key)
    stat = _infrar_local_object(bucket, key).stat()
    info = _infrar_local_load_meta(bucket, key)
    return _infrar_ObjectInfo(
        key=key,
        size=len(data),
        content_type=info["content_type"],
        etag=hashlib.md5(data).hexdigest(),
        last_modified=datetime.datetime.fromtimestamp(stat.st_mtime, tz=datetime.timezone.utc),
        metadata=dict(sorted(info["metadata"].items())),
    )


def load(key):
    return _infrar_read("b", key)


def load_if_present(key):
    return _infrar_exists("b", key) and _infrar_read("b", key)


def pair(key):
    return _infrar_read("b", key), _infrar_get_metadata("b", key)
