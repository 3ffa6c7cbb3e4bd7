"""A command-line module whose commands shadow builtins the generated code relies on."""
import os
import pathlib
from urllib.parse import quote
from urllib.parse import unquote
import re
import json
import tempfile
import builtins as _infrar_builtins
import gzip


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
    if not _infrar_builtins.isinstance(key, str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return _infrar_local_bucket(bucket) / quote(key, safe="")


def _infrar_local_meta(bucket, key):
    folder = _infrar_local_bucket(bucket).parent / ".infrar-meta" / bucket
    return folder / (quote(key, safe="") + ".json")


def _infrar_list_objects(bucket, prefix="", max_results=None):
    keys = sorted(
        key
        for key in (unquote(entry.name) for entry in _infrar_local_bucket(bucket).iterdir() if entry.is_file())
        if key.startswith(prefix)
    )
    return keys if max_results is None else keys[:max_results]


def _infrar_check_metadata(metadata):
    """Metadata must travel unchanged on every provider: lower-case identifiers, ASCII values."""
    if metadata is None:
        return {}
    checked = {}
    for name, value in metadata.items():
        if not _infrar_builtins.isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
            raise ValueError(f"metadata key {name!r} must match [a-z][a-z0-9_]*")
        if not _infrar_builtins.isinstance(value, str) or not value.isascii() or not value.isprintable():
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


def _infrar_upload(bucket, source, destination, content_type=None, metadata=None):
    with _infrar_builtins.open(source, "rb") as handle:
        data = handle.read()
    _infrar_local_store(bucket, destination, data, content_type, metadata)


def _infrar_exists(bucket, key):
    return _infrar_local_object(bucket, key).is_file()


def _infrar_to_bytes(data):
    if _infrar_builtins.isinstance(data, str):
        return data.encode("utf-8")
    if _infrar_builtins.isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes or str, not {type(data).__name__}")


def _infrar_write(bucket, key, data, content_type=None, metadata=None):
    _infrar_local_store(bucket, key, _infrar_to_bytes(data), content_type, metadata)


open = gzip.open


def list(prefix=""):
    for key in _infrar_list_objects("b", prefix):
        print(key)


def isinstance(name):
    _infrar_upload("b", name, name)
    _infrar_write("b", name + ".meta", str(_infrar_exists("b", name)))
