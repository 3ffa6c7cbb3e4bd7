"""Exceptions raised by `infrar.storage`, identical on every provider."""


class StorageError(Exception):
    """Base class of every storage error."""


class ObjectNotFoundError(StorageError):
    """The object (key) does not exist in the bucket."""


class BucketNotFoundError(StorageError):
    """The bucket does not exist."""


class PermissionDeniedError(StorageError):
    """The caller may not perform the operation."""
