import functools
import os
from azure.storage.blob import BlobServiceClient
from azure.core.exceptions import HttpResponseError
from azure.core.exceptions import ResourceNotFoundError


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


def _infrar_azure_read(bucket, key):
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(key))
    try:
        return blob.download_blob().readall()
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket, key) from error


def _infrar_azure_exists(bucket, key):
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(key))
    try:
        blob.get_blob_properties()
    except HttpResponseError as error:
        failure = _infrar_azure_error(error, bucket, key)
        if isinstance(failure, _infrar_ObjectNotFoundError):
            return False
        raise failure from error
    return True


data = _infrar_azure_read("b", "k")
size: int = len(_infrar_azure_read("b", "k"))
first, second = _infrar_azure_read("b", "1"), _infrar_azure_read("b", "2")
total = 0
total += len(_infrar_azure_read("b", "k"))
a = b = _infrar_azure_exists("b", "k")
config = {"flag": _infrar_azure_exists("b", "flag")}
config["data"] = _infrar_azure_read("b", "data")
