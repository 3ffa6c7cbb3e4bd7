import functools
import os
from azure.storage.blob import BlobServiceClient
from azure.core.exceptions import HttpResponseError
from azure.core.exceptions import ResourceNotFoundError
import re
from azure.storage.blob import ContentSettings


class _infrar_StorageError(Exception):
    """Base class of every storage error."""


class _infrar_ObjectNotFoundError(_infrar_StorageError):
    """The object (key) does not exist in the bucket."""


class _infrar_BucketNotFoundError(_infrar_StorageError):
    """The bucket does not exist."""


class _infrar_PermissionDeniedError(_infrar_StorageError):
    """The caller may not perform the operation."""


@functools.lru_cache(maxsize=None)
def _infrar_azure_service():
    connection_string = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection_string:
        return BlobServiceClient.from_connection_string(connection_string)
    account_url = os.environ.get("AZURE_STORAGE_ACCOUNT_URL")
    if not account_url:
        raise RuntimeError("set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL")
    try:
        # Only token authentication needs azure-identity, so only it imports it.
        from azure.identity import DefaultAzureCredential
    except ImportError as error:
        raise RuntimeError("AZURE_STORAGE_ACCOUNT_URL needs azure-identity installed") from error
    return BlobServiceClient(account_url, credential=DefaultAzureCredential())


_infrar_azure_error_classes = {
    '401': _infrar_PermissionDeniedError,
    '403': _infrar_PermissionDeniedError,
    'AuthenticationFailed': _infrar_PermissionDeniedError,
    'AuthorizationFailure': _infrar_PermissionDeniedError,
    'AuthorizationPermissionMismatch': _infrar_PermissionDeniedError,
    'AuthorizationProtocolMismatch': _infrar_PermissionDeniedError,
    'AuthorizationResourceTypeMismatch': _infrar_PermissionDeniedError,
    'AuthorizationServiceMismatch': _infrar_PermissionDeniedError,
    'AuthorizationSourceIPMismatch': _infrar_PermissionDeniedError,
    'BlobNotFound': _infrar_ObjectNotFoundError,
    'ContainerBeingDeleted': _infrar_BucketNotFoundError,
    'ContainerNotFound': _infrar_BucketNotFoundError,
    'InsufficientAccountPermissions': _infrar_PermissionDeniedError,
}


def _infrar_azure_container_exists(bucket):
    # Listing needs only blob read rights, which every reading operation has anyway.
    pages = _infrar_azure_service().get_container_client(bucket).list_blobs(results_per_page=1).by_page()
    try:
        next(iter(pages), None)
    except ResourceNotFoundError:
        return False
    except HttpResponseError:
        return True
    return True


def _infrar_azure_error(error, bucket, key=None, other_bucket=None):
    """The SDK exception for an azure.core error; raise it `from` the native error."""
    code = getattr(error, "error_code", None)
    code = str(getattr(code, "value", code) or error.status_code or "")
    if code == "404":
        # A HEAD answer without x-ms-error-code: a missing container and blob look alike.
        code = "BlobNotFound"
        for candidate in (bucket, other_bucket):
            if candidate is not None and not _infrar_azure_container_exists(candidate):
                code, bucket = "ContainerNotFound", candidate
                break
    kind = _infrar_azure_error_classes.get(code, _infrar_StorageError)
    message = str(error.message or error).splitlines()[0]
    where = f"container {bucket!r}" if key is None else f"container {bucket!r}, blob {key!r}"
    return kind(f"{code}: {message} ({where})")


def _infrar_check_key(key):
    if not isinstance(key, str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return key


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


def _infrar_azure_upload(bucket, source, destination, content_type=None, metadata=None):
    with open(source, "rb") as handle:
        blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(destination))
        settings = ContentSettings(content_type=content_type or _infrar_default_content_type)
        try:
            blob.upload_blob(handle, overwrite=True, content_settings=settings, metadata=_infrar_check_metadata(metadata))
        except HttpResponseError as error:
            raise _infrar_azure_error(error, bucket, destination) from error


def _infrar_azure_read(bucket, key):
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(key))
    try:
        return blob.download_blob().readall()
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket, key) from error


def _infrar_to_bytes(data):
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes or str, not {type(data).__name__}")


def _infrar_azure_write(bucket, key, data, content_type=None, metadata=None):
    body = _infrar_to_bytes(data)
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(key))
    settings = ContentSettings(content_type=content_type or _infrar_default_content_type)
    try:
        blob.upload_blob(body, overwrite=True, content_settings=settings, metadata=_infrar_check_metadata(metadata))
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket, key) from error


_infrar_azure_upload("photos", "cat.jpg", "2024/cat.jpg", content_type="image/jpeg")
data = (
    _infrar_azure_read("photos", "2024/cat.jpg")
)
_infrar_azure_write("photos", "long.txt", "part one, "
        "part two")
total = len(_infrar_azure_read("photos", "a")) + len(
    _infrar_azure_read("photos", "b"))
