"""A star import may bind any public name, builtins included (os exports `open`)."""
import functools as _infrar_functools
import os as _infrar_os
from azure.storage.blob import BlobServiceClient as _infrar_BlobServiceClient
from azure.core.exceptions import HttpResponseError as _infrar_HttpResponseError
from azure.core.exceptions import ResourceNotFoundError as _infrar_ResourceNotFoundError
import re as _infrar_re
from azure.storage.blob import ContentSettings as _infrar_ContentSettings
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


@_infrar_functools.lru_cache(maxsize=None)
def _infrar_azure_service():
    connection_string = _infrar_os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection_string:
        return _infrar_BlobServiceClient.from_connection_string(connection_string)
    account_url = _infrar_os.environ.get("AZURE_STORAGE_ACCOUNT_URL")
    if not account_url:
        raise _infrar_builtins.RuntimeError("set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL")
    try:
        # Only token authentication needs azure-identity, so only it imports it.
        from azure.identity import DefaultAzureCredential
    except _infrar_builtins.ImportError as error:
        raise _infrar_builtins.RuntimeError("AZURE_STORAGE_ACCOUNT_URL needs azure-identity installed") from error
    return _infrar_BlobServiceClient(account_url, credential=DefaultAzureCredential())


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
        _infrar_builtins.next(_infrar_builtins.iter(pages), None)
    except _infrar_ResourceNotFoundError:
        return False
    except _infrar_HttpResponseError:
        return True
    return True


def _infrar_azure_error(error, bucket, key=None, other_bucket=None):
    """The SDK exception for an azure.core error; raise it `from` the native error."""
    code = _infrar_builtins.getattr(error, "error_code", None)
    code = _infrar_builtins.str(_infrar_builtins.getattr(code, "value", code) or error.status_code or "")
    if code == "404":
        # A HEAD answer without x-ms-error-code: a missing container and blob look alike.
        code = "BlobNotFound"
        for candidate in (bucket, other_bucket):
            if candidate is not None and not _infrar_azure_container_exists(candidate):
                code, bucket = "ContainerNotFound", candidate
                break
    kind = _infrar_azure_error_classes.get(code, _infrar_StorageError)
    message = _infrar_builtins.str(error.message or error).splitlines()[0]
    where = f"container {bucket!r}" if key is None else f"container {bucket!r}, blob {key!r}"
    return kind(f"{code}: {message} ({where})")


def _infrar_check_key(key):
    if not _infrar_builtins.isinstance(key, _infrar_builtins.str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return key


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


def _infrar_azure_upload(bucket, source, destination, content_type=None, metadata=None):
    with _infrar_builtins.open(source, "rb") as handle:
        blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(destination))
        settings = _infrar_ContentSettings(content_type=content_type or _infrar_default_content_type)
        try:
            blob.upload_blob(handle, overwrite=True, content_settings=settings, metadata=_infrar_check_metadata(metadata))
        except _infrar_HttpResponseError as error:
            raise _infrar_azure_error(error, bucket, destination) from error


_infrar_azure_upload("b", "local.txt", "remote.txt")
