import functools
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
import re


class _infrar_StorageError(Exception):
    """Base class of every storage error."""


class _infrar_ObjectNotFoundError(_infrar_StorageError):
    """The object (key) does not exist in the bucket."""


class _infrar_BucketNotFoundError(_infrar_StorageError):
    """The bucket does not exist."""


class _infrar_PermissionDeniedError(_infrar_StorageError):
    """The caller may not perform the operation."""


@functools.lru_cache(maxsize=None)
def _infrar_s3_client():
    # A session of its own: boto3's default session is not safe to create from threads.
    session = boto3.session.Session()
    return session.client("s3", config=Config(signature_version="s3v4"))


_infrar_s3_error_classes = {
    '403': _infrar_PermissionDeniedError,
    'AccessDenied': _infrar_PermissionDeniedError,
    'AccountProblem': _infrar_PermissionDeniedError,
    'AllAccessDisabled': _infrar_PermissionDeniedError,
    'ExpiredToken': _infrar_PermissionDeniedError,
    'InvalidAccessKeyId': _infrar_PermissionDeniedError,
    'InvalidToken': _infrar_PermissionDeniedError,
    'NoSuchBucket': _infrar_BucketNotFoundError,
    'NoSuchKey': _infrar_ObjectNotFoundError,
    'SignatureDoesNotMatch': _infrar_PermissionDeniedError,
}


def _infrar_s3_error_code(error):
    return str(error.response.get("Error", {}).get("Code", ""))


def _infrar_s3_bucket_exists(bucket):
    try:
        _infrar_s3_client().head_bucket(Bucket=bucket)
    except ClientError as error:
        return _infrar_s3_error_code(error) not in ("404", "NotFound", "NoSuchBucket")
    return True


def _infrar_s3_error(error, bucket, key=None):
    """The SDK exception for a botocore ClientError; raise it `from` the native error."""
    code = _infrar_s3_error_code(error)
    if code in ("404", "NotFound"):
        # HEAD responses have no body: a missing bucket and a missing key look alike.
        code = "NoSuchKey" if _infrar_s3_bucket_exists(bucket) else "NoSuchBucket"
    kind = _infrar_s3_error_classes.get(code, _infrar_StorageError)
    details = error.response.get("Error", {})
    message, bucket = details.get("Message") or str(error), details.get("BucketName", bucket)
    where = f"bucket {bucket!r}" if key is None else f"bucket {bucket!r}, key {key!r}"
    return kind(f"{code}: {message} ({where})")


def _infrar_s3_list(bucket, prefix="", max_results=None):
    # General purpose buckets list keys in UTF-8 byte order, which is str order, so the
    # first max_results keys are final; directory buckets (--x-s3) list in no order.
    stop_early = max_results is not None and max_results >= 0 and not bucket.endswith("--x-s3")
    pages = {"PageSize": min(max(max_results, 1), 1000)} if stop_early else {}
    keys = []
    try:
        paginator = _infrar_s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=pages):
            keys.extend(item["Key"] for item in page.get("Contents", ()))
            if stop_early and len(keys) >= max_results:
                break
    except ClientError as error:
        raise _infrar_s3_error(error, bucket) from error
    keys.sort()
    return keys if max_results is None else keys[:max_results]


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


def _infrar_s3_signed_url(bucket, key, expires_in=3600, method="GET"):
    _infrar_check_signing(expires_in, method)
    _infrar_check_key(key)
    operation = "get_object" if method == "GET" else "put_object"
    return _infrar_s3_client().generate_presigned_url(
        operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
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


def _infrar_s3_upload(bucket, source, destination, content_type=None, metadata=None):
    with open(source, "rb") as handle:
        _infrar_check_key(destination)
        extra = {"ContentType": content_type or _infrar_default_content_type, "Metadata": _infrar_check_metadata(metadata)}
        try:
            _infrar_s3_client().upload_fileobj(handle, bucket, destination, ExtraArgs=extra)
        except ClientError as error:
            raise _infrar_s3_error(error, bucket, destination) from error


def _infrar_to_bytes(data):
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes or str, not {type(data).__name__}")


def _infrar_s3_write(bucket, key, data, content_type=None, metadata=None):
    body = _infrar_to_bytes(data)
    _infrar_check_key(key)
    extra = {"ContentType": content_type or _infrar_default_content_type, "Metadata": _infrar_check_metadata(metadata)}
    try:
        _infrar_s3_client().put_object(Bucket=bucket, Key=key, Body=body, **extra)
    except ClientError as error:
        raise _infrar_s3_error(error, bucket, key) from error


everything = _infrar_s3_list("photos")
also_everything = _infrar_s3_list("photos", "")
url = _infrar_s3_signed_url("photos", "cat.jpg")
_infrar_s3_upload("photos", "cat.jpg", "cat.jpg")
_infrar_s3_write("photos", "notes.txt", b"hi", content_type=None)
