import functools
from google.cloud import storage as gcs_storage
from google.api_core.exceptions import GoogleAPICallError
from google.api_core.exceptions import NotFound
import google.auth as google_auth
from google.auth import credentials as google_credentials
from google.auth import exceptions as google_auth_exceptions
from google.auth.transport import requests as google_auth_requests
import datetime
import re
import os


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


@functools.lru_cache(maxsize=None)
def _infrar_gcs_default_credentials():
    scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    return google_auth.default(scopes=scopes)[0]


def _infrar_gcs_signing_options():
    """Arguments for Blob.generate_signed_url: a key that signs, or IAM signBlob."""
    try:
        credentials = _infrar_gcs_default_credentials()
    except google_auth_exceptions.DefaultCredentialsError as error:
        raise _infrar_PermissionDeniedError(f"signing a URL needs Google credentials: {error}") from error
    if isinstance(credentials, google_credentials.Signing):
        return {"credentials": credentials}
    if not credentials.valid:
        credentials.refresh(google_auth_requests.Request())
    email = getattr(credentials, "service_account_email", None)
    if not email:
        raise _infrar_PermissionDeniedError(
            "signing a URL needs a service account: set GOOGLE_APPLICATION_CREDENTIALS to a "
            "service account key or run as an attached service account"
        )
    return {"service_account_email": email, "access_token": credentials.token}


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


def _infrar_gcs_signed_url(bucket, key, expires_in=3600, method="GET"):
    _infrar_check_signing(expires_in, method)
    blob = _infrar_gcs_client().bucket(bucket).blob(_infrar_check_key(key))
    return blob.generate_signed_url(
        version="v4",
        expiration=datetime.timedelta(seconds=expires_in),
        method=method,
        **_infrar_gcs_signing_options(),
    )


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


def _infrar_gcs_upload(bucket, source, destination, content_type=None, metadata=None):
    with open(source, "rb") as handle:
        blob = _infrar_gcs_client().bucket(bucket).blob(_infrar_check_key(destination))
        blob.metadata = _infrar_check_metadata(metadata) or None
        try:
            blob.upload_from_file(
                handle,
                size=os.fstat(handle.fileno()).st_size,
                content_type=content_type or _infrar_default_content_type,
            )
        except GoogleAPICallError as error:
            raise _infrar_gcs_error(error, bucket, destination) from error


def _infrar_to_bytes(data):
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes or str, not {type(data).__name__}")


def _infrar_gcs_write(bucket, key, data, content_type=None, metadata=None):
    body = _infrar_to_bytes(data)
    blob = _infrar_gcs_client().bucket(bucket).blob(_infrar_check_key(key))
    blob.metadata = _infrar_check_metadata(metadata) or None
    try:
        blob.upload_from_string(body, content_type=content_type or _infrar_default_content_type)
    except GoogleAPICallError as error:
        raise _infrar_gcs_error(error, bucket, key) from error


everything = _infrar_gcs_list("photos")
also_everything = _infrar_gcs_list("photos", "")
url = _infrar_gcs_signed_url("photos", "cat.jpg")
_infrar_gcs_upload("photos", "cat.jpg", "cat.jpg")
_infrar_gcs_write("photos", "notes.txt", b"hi", content_type=None)
