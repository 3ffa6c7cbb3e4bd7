import functools
import os
from azure.storage.blob import BlobServiceClient
from azure.core.exceptions import HttpResponseError
from azure.core.exceptions import ResourceNotFoundError
import re
from azure.storage.blob import ContentSettings
import uuid
import time
import datetime
import dataclasses
from azure.storage.blob import BlobSasPermissions
from azure.storage.blob import generate_blob_sas


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


def _infrar_save_atomically(destination, fill):
    """Write the file through `fill(handle)`; a failed download leaves no partial file behind."""
    destination = os.fspath(destination)
    partial = destination + "." + uuid.uuid4().hex + ".part"
    try:
        with open(partial, "wb") as handle:
            fill(handle)
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _infrar_azure_download(bucket, source, destination):
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(source))
    try:
        _infrar_save_atomically(destination, blob.download_blob().readinto)
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket, source) from error


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


def _infrar_azure_read(bucket, key):
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(key))
    try:
        return blob.download_blob().readall()
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket, key) from error


def _infrar_azure_delete(bucket, path):
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(path))
    try:
        blob.delete_blob(delete_snapshots="include")
    except HttpResponseError as error:
        failure = _infrar_azure_error(error, bucket, path)
        if not isinstance(failure, _infrar_ObjectNotFoundError):
            raise failure from error


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


def _infrar_azure_list(bucket, prefix="", max_results=None):
    # Every page is read even with max_results: Azure documents its listing order only as
    # "alphabetical", which need not be str order for every name.
    container = _infrar_azure_service().get_container_client(bucket)
    try:
        keys = sorted(container.list_blob_names(name_starts_with=prefix or None))
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket) from error
    return keys if max_results is None else keys[:max_results]


def _infrar_azure_copy(bucket, source, destination, destination_bucket=None):
    service = _infrar_azure_service()
    origin = service.get_blob_client(bucket, _infrar_check_key(source))
    target_bucket = destination_bucket or bucket
    target = service.get_blob_client(target_bucket, _infrar_check_key(destination))
    try:
        origin.get_blob_properties()
        if (target_bucket, destination) == (bucket, source):
            return
        status = target.start_copy_from_url(origin.url)["copy_status"]
        while status == "pending":
            # Copies inside one account are usually done at once; large ones finish later.
            time.sleep(0.2)
            copy = target.get_blob_properties().copy
            status = copy.status
        if status != "success":
            raise _infrar_StorageError(f"copy of {source!r} to {destination!r} ended {status}")
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket, source, target_bucket) from error


@dataclasses.dataclass(frozen=True)
class _infrar_ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime.datetime
    metadata: "dict[str, str]" = dataclasses.field(default_factory=dict)


def _infrar_azure_get_metadata(bucket, key):
    blob = _infrar_azure_service().get_blob_client(bucket, _infrar_check_key(key))
    try:
        properties = blob.get_blob_properties()
    except HttpResponseError as error:
        raise _infrar_azure_error(error, bucket, key) from error
    return _infrar_ObjectInfo(
        key=key,
        size=int(properties.size),
        content_type=properties.content_settings.content_type or _infrar_default_content_type,
        etag=(properties.etag or "").strip('"'),
        last_modified=properties.last_modified.astimezone(datetime.timezone.utc),
        metadata=dict(sorted((properties.metadata or {}).items())),
    )


def _infrar_check_signing(expires_in, method):
    if method not in ("GET", "PUT"):
        raise ValueError(f"unsupported method {method!r}")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise ValueError("expires_in must be a positive number of seconds")
    # Seven days is the longest validity S3 (SigV4) and GCS (V4) signatures allow.
    if expires_in > 604800:
        raise ValueError("expires_in may be at most 604800 seconds (7 days)")


def _infrar_azure_signed_url(bucket, key, expires_in=3600, method="GET"):
    _infrar_check_signing(expires_in, method)
    service = _infrar_azure_service()
    blob = service.get_blob_client(bucket, _infrar_check_key(key))
    now = datetime.datetime.now(datetime.timezone.utc)
    expiry = now + datetime.timedelta(seconds=expires_in)
    if method == "GET":
        permission = BlobSasPermissions(read=True)
    else:
        permission = BlobSasPermissions(create=True, write=True)
    account_key = getattr(service.credential, "account_key", None)
    if account_key:
        signing = {"account_key": account_key}
    else:
        # A token credential cannot sign; a user delegation key obtained with it can.
        try:
            signing = {"user_delegation_key": service.get_user_delegation_key(now, expiry)}
        except HttpResponseError as error:
            raise _infrar_azure_error(error, bucket, key) from error
    token = generate_blob_sas(
        blob.account_name, bucket, key, permission=permission, expiry=expiry, **signing
    )
    return f"{blob.url}?{token}"


BUCKET = "assets"

_infrar_azure_upload(BUCKET, "a.txt", "a.txt")
_infrar_azure_download(BUCKET, "a.txt", "a-copy.txt")
_infrar_azure_write(BUCKET, "b.txt", "text")
content = _infrar_azure_read(BUCKET, "b.txt")
_infrar_azure_delete(BUCKET, "b.txt")
present = _infrar_azure_exists(BUCKET, "a.txt")
keys = _infrar_azure_list(BUCKET, "a")
_infrar_azure_copy(BUCKET, "a.txt", "c.txt")
info = _infrar_azure_get_metadata(BUCKET, "a.txt")
link = _infrar_azure_signed_url(BUCKET, "a.txt", expires_in=600)
