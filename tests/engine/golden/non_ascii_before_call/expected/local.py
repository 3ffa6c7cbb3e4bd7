import os
import pathlib
from urllib.parse import quote
import re
import json
import tempfile


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


def _infrar_check_metadata(metadata):
    """Metadata must travel unchanged on every provider: lower-case identifiers, ASCII values."""
    if metadata is None:
        return {}
    checked = {}
    for name, value in metadata.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
            raise ValueError(f"metadata key {name!r} must match [a-z][a-z0-9_]*")
        if not isinstance(value, str) or not value.isascii() or not value.isprintable():
            raise ValueError(f"metadata value for {name!r} must be printable ASCII text")
        checked[name] = value
    return checked


_infrar_default_content_type = "application/octet-stream"


def _infrar_local_store(bucket, key, data, content_type, metadata):
    target = _infrar_local_object(bucket, key)
    meta = _infrar_local_meta(bucket, key)
    info = {"content_type": content_type or _infrar_default_content_type, "metadata": _infrar_check_metadata(metadata)}
    meta.parent.mkdir(parents=True, exist_ok=True)
    for path, payload in ((meta, json.dumps(info).encode()), (target, data)):
        fd, temporary = tempfile.mkstemp(dir=meta.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)


def _infrar_to_bytes(data):
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes or str, not {type(data).__name__}")


def _infrar_write(bucket, key, data, content_type=None, metadata=None):
    _infrar_local_store(bucket, key, _infrar_to_bytes(data), content_type, metadata)


título = "café"; datos = _infrar_read("bücket", "ключ"); otro = _infrar_exists("b", "日本語")
msg = "ça va?" + _infrar_read("b", f"{título}/ü").decode()
emoji = "🚀🚀"; _infrar_write("b", "🚀", emoji)
