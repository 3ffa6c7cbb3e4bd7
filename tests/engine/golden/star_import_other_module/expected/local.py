"""A star import may bind any public name, builtins included (os exports `open`)."""
import os as _infrar_os
import pathlib as _infrar_pathlib
from urllib.parse import quote as _infrar_quote
import re as _infrar_re
import json as _infrar_json
import tempfile as _infrar_tempfile
import builtins as _infrar_builtins
from os import *


class _infrar_StorageError(_infrar_builtins.Exception):
    """Base class of every storage error."""


class _infrar_ObjectNotFoundError(_infrar_StorageError):
    """The object (key) does not exist in the bucket."""


class _infrar_BucketNotFoundError(_infrar_StorageError):
    """The bucket does not exist."""


class _infrar_PermissionDeniedError(_infrar_StorageError):
    """The caller may not perform the operation."""


def _infrar_local_bucket(bucket, must_exist=True):
    root = _infrar_pathlib.Path(_infrar_os.environ.get("INFRAR_LOCAL_ROOT") or ".infrar/local")
    folder = root / bucket
    if not bucket or "/" in bucket or "\\" in bucket or bucket.startswith(".") or (must_exist and not folder.is_dir()):
        raise _infrar_BucketNotFoundError(f"bucket {bucket!r} does not exist (looked in {root})")
    return folder


def _infrar_local_object(bucket, key):
    if not _infrar_builtins.isinstance(key, _infrar_builtins.str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return _infrar_local_bucket(bucket) / _infrar_quote(key, safe="")


def _infrar_local_meta(bucket, key):
    folder = _infrar_local_bucket(bucket).parent / ".infrar-meta" / bucket
    return folder / (_infrar_quote(key, safe="") + ".json")


def _infrar_check_metadata(metadata):
    """Metadata must travel unchanged on every provider: lower-case identifiers, ASCII values."""
    if metadata is None:
        return {}
    checked = {}
    for name, value in metadata.items():
        if not _infrar_builtins.isinstance(name, _infrar_builtins.str) or not _infrar_re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
            raise _infrar_builtins.ValueError(f"metadata key {name!r} must match [a-z][a-z0-9_]*")
        if not _infrar_builtins.isinstance(value, _infrar_builtins.str) or not value.isascii() or not value.isprintable():
            raise _infrar_builtins.ValueError(f"metadata value for {name!r} must be printable ASCII text")
        checked[name] = value
    return checked


_infrar_default_content_type = "application/octet-stream"


def _infrar_local_store(bucket, key, data, content_type, metadata):
    target = _infrar_local_object(bucket, key)
    meta = _infrar_local_meta(bucket, key)
    info = {"content_type": content_type or _infrar_default_content_type, "metadata": _infrar_check_metadata(metadata)}
    meta.parent.mkdir(parents=True, exist_ok=True)
    for path, payload in ((meta, _infrar_json.dumps(info).encode()), (target, data)):
        fd, temporary = _infrar_tempfile.mkstemp(dir=meta.parent)
        with _infrar_os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        _infrar_os.replace(temporary, path)


def _infrar_upload(bucket, source, destination, content_type=None, metadata=None):
    with _infrar_builtins.open(source, "rb") as handle:
        data = handle.read()
    _infrar_local_store(bucket, destination, data, content_type, metadata)


_infrar_upload("b", "local.txt", "remote.txt")
