import functools
from google.cloud import storage as gcs_storage
from google.api_core.exceptions import GoogleAPICallError
from google.api_core.exceptions import NotFound
import datetime
import dataclasses


class _infrar_StorageError(Exception):
    """Base class of every storage error."""


class _infrar_ObjectNotFoundError(_infrar_StorageError):
    """The object (key) does not exist in the bucket."""


class _infrar_BucketNotFoundError(_infrar_StorageError):
    """The bucket does not exist."""


class _infrar_PermissionDeniedError(_infrar_StorageError):
    """The caller may not perform the operation."""


@functools.lru_cache(maxsize=None)
def _infrar_gcs_client():
    return gcs_storage.Client()


_infrar_gcs_error_classes = {
    'Forbidden': _infrar_PermissionDeniedError,
    'NotFound': _infrar_ObjectNotFoundError,
    'Unauthorized': _infrar_PermissionDeniedError,
}


def _infrar_gcs_bucket_exists(bucket):
    # Listing needs storage.objects.list, which object users hold; buckets.get they may not.
    try:
        next(iter(_infrar_gcs_client().list_blobs(bucket, max_results=1)), None)
    except NotFound:
        return False
    except GoogleAPICallError:
        return True
    return True


def _infrar_gcs_error(error, bucket, key=None, other_bucket=None):
    """The SDK exception for a google.api_core error; raise it `from` the native error."""
    kind = next(
        (_infrar_gcs_error_classes[c.__name__] for c in type(error).__mro__ if c.__name__ in _infrar_gcs_error_classes),
        _infrar_StorageError,
    )
    if kind is _infrar_ObjectNotFoundError:
        # GCS answers 404 alike for a missing bucket and a missing object.
        for candidate in (bucket, other_bucket):
            if candidate is not None and not _infrar_gcs_bucket_exists(candidate):
                kind, bucket = _infrar_BucketNotFoundError, candidate
                break
    where = f"bucket {bucket!r}" if key is None else f"bucket {bucket!r}, key {key!r}"
    return kind(f"{error.message} ({where})")


def _infrar_check_key(key):
    if not isinstance(key, str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return key


def _infrar_gcs_read(bucket, key):
    blob = _infrar_gcs_client().bucket(bucket).blob(_infrar_check_key(key))
    try:
        return blob.download_as_bytes()
    except GoogleAPICallError as error:
        raise _infrar_gcs_error(error, bucket, key) from error


def _infrar_gcs_list(bucket, prefix="", max_results=None):
    # GCS lists names in UTF-8 byte order, which is str order, so the first max_results
    # names are final.
    stop_early = max_results is not None and max_results >= 0
    limit = max_results if stop_early and max_results > 0 else None
    fields = "items(name),nextPageToken"
    keys = []
    try:
        for blob in _infrar_gcs_client().list_blobs(bucket, prefix=prefix or None, max_results=limit, fields=fields):
            keys.append(blob.name)
            if stop_early and len(keys) >= max_results:
                break
    except GoogleAPICallError as error:
        raise _infrar_gcs_error(error, bucket) from error
    keys.sort()
    return keys if max_results is None else keys[:max_results]


@dataclasses.dataclass(frozen=True)
class _infrar_ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime.datetime
    metadata: "dict[str, str]" = dataclasses.field(default_factory=dict)


_infrar_default_content_type = "application/octet-stream"


def _infrar_gcs_get_metadata(bucket, key):
    blob = _infrar_gcs_client().bucket(bucket).blob(_infrar_check_key(key))
    try:
        blob.reload(projection="noAcl")
    except GoogleAPICallError as error:
        raise _infrar_gcs_error(error, bucket, key) from error
    return _infrar_ObjectInfo(
        key=key,
        size=int(blob.size or 0),
        content_type=blob.content_type or _infrar_default_content_type,
        etag=(blob.etag or "").strip('"'),
        last_modified=blob.updated.astimezone(datetime.timezone.utc),
        metadata=dict(sorted((blob.metadata or {}).items())),
    )


def _infrar_gcs_exists(bucket, key):
    blob = _infrar_gcs_client().bucket(bucket).blob(_infrar_check_key(key))
    try:
        blob.reload(projection="noAcl")
    except GoogleAPICallError as error:
        failure = _infrar_gcs_error(error, bucket, key)
        if isinstance(failure, _infrar_ObjectNotFoundError):
            return False
        raise failure from error
    return True


line = f"{_infrar_gcs_read('b', 'k')!r}"
padded = f"{len(_infrar_gcs_list('b')):>5} keys"
size = f"size={_infrar_gcs_get_metadata('b', 'k').size}"
joined = ("first: " f"{_infrar_gcs_exists('b', 'k')}"
          f" second: {_infrar_gcs_exists('b', 'k2')}")
block = f"""
{_infrar_gcs_read('b', 'k')}
"""
spec = f"{1:{_infrar_gcs_read('b', 'width').decode()}}"
