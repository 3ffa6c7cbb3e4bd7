import os
import pathlib
from urllib.parse import quote
from urllib.parse import unquote
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


def _infrar_list_objects(bucket, prefix="", max_results=None):
    keys = sorted(
        key
        for key in (unquote(entry.name) for entry in _infrar_local_bucket(bucket).iterdir() if entry.is_file())
        if key.startswith(prefix)
    )
    return keys if max_results is None else keys[:max_results]


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


def _infrar_exists(bucket, key):
    return _infrar_local_object(bucket, key).is_file()


line = f"{_infrar_read('b', 'k')!r}"
padded = f"{len(_infrar_list_objects('b')):>5} keys"
size = f"size={_infrar_get_metadata('b', 'k').size}"
joined = ("first: " f"{_infrar_exists('b', 'k')}"
          f" second: {_infrar_exists('b', 'k2')}")
block = f"""
{_infrar_read('b', 'k')}
"""
spec = f"{1:{_infrar_read('b', 'width').decode()}}"
