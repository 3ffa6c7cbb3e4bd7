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


def _infrar_check_key(key):
    if not isinstance(key, str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return key


def _infrar_check_signing(expires_in, method):
    if method not in ("GET", "PUT"):
        raise ValueError(f"unsupported method {method!r}")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise ValueError("expires_in must be a positive number of seconds")
    # Seven days is the longest validity S3 (SigV4) and GCS (V4) signatures allow.
    if expires_in > 604800:
        raise ValueError("expires_in may be at most 604800 seconds (7 days)")


def _infrar_signed_url(bucket, key, expires_in=3600, method="GET"):
    _infrar_check_signing(expires_in, method)
    _infrar_check_key(key)
    # Signing is offline, as on the clouds: a missing bucket shows when the URL is used.
    folder = _infrar_local_bucket(bucket, must_exist=False)
    return (folder / quote(key, safe="")).resolve().as_uri()


def render(template=_infrar_read("config", "template.txt")):
    return template


def share(key, *, url=_infrar_signed_url("b", "k")):
    return url


handler = lambda data=_infrar_read("b", "k"): data
