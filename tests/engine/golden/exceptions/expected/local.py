import os
import pathlib
from urllib.parse import quote


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


def load(key):
    try:
        return _infrar_read("b", key)
    except _infrar_ObjectNotFoundError:
        return None
    except _infrar_BucketNotFoundError as exc:
        raise RuntimeError("no bucket") from exc


def classify(exc: Exception) -> str:
    if isinstance(exc, _infrar_StorageError):
        return "storage"
    if isinstance(exc, (_infrar_PermissionDeniedError, KeyError)):
        return "denied"
    return "other"


class MissingReport(_infrar_ObjectNotFoundError):
    pass
