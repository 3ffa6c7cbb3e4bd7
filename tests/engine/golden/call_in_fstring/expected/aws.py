import functools
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
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


def _infrar_check_key(key):
    if not isinstance(key, str) or not key:
        raise _infrar_StorageError(f"invalid object key {key!r}")
    return key


def _infrar_s3_read(bucket, key):
    _infrar_check_key(key)
    try:
        return _infrar_s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise _infrar_s3_error(error, bucket, key) from error


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


@dataclasses.dataclass(frozen=True)
class _infrar_ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime.datetime
    metadata: "dict[str, str]" = dataclasses.field(default_factory=dict)


_infrar_default_content_type = "application/octet-stream"


def _infrar_s3_get_metadata(bucket, key):
    _infrar_check_key(key)
    try:
        head = _infrar_s3_client().head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        raise _infrar_s3_error(error, bucket, key) from error
    return _infrar_ObjectInfo(
        key=key,
        size=int(head["ContentLength"]),
        content_type=head.get("ContentType") or _infrar_default_content_type,
        etag=head.get("ETag", "").strip('"'),
        last_modified=head["LastModified"].astimezone(datetime.timezone.utc),
        metadata=dict(sorted(head.get("Metadata", {}).items())),
    )


def _infrar_s3_exists(bucket, key):
    _infrar_check_key(key)
    try:
        _infrar_s3_client().head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        failure = _infrar_s3_error(error, bucket, key)
        if isinstance(failure, _infrar_ObjectNotFoundError):
            return False
        raise failure from error
    return True


line = f"{_infrar_s3_read('b', 'k')!r}"
padded = f"{len(_infrar_s3_list('b')):>5} keys"
size = f"size={_infrar_s3_get_metadata('b', 'k').size}"
joined = ("first: " f"{_infrar_s3_exists('b', 'k')}"
          f" second: {_infrar_s3_exists('b', 'k2')}")
block = f"""
{_infrar_s3_read('b', 'k')}
"""
spec = f"{1:{_infrar_s3_read('b', 'width').decode()}}"
