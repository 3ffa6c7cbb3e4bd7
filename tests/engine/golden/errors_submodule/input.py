"""The SDK's submodules (errors, types) fold into the native capability module."""
import infrar.storage
import infrar.storage.errors
import infrar.storage as s
from infrar.storage import errors
from infrar.storage import errors as e, read
from infrar.storage.errors import ObjectNotFoundError as Missing
from infrar.storage.types import ObjectInfo


def load(key: str) -> bytes | None:
    try:
        return read("b", key)
    except Missing:
        return None
    except (errors.BucketNotFoundError, e.PermissionDeniedError):
        raise
    except s.errors.StorageError as exc:
        raise RuntimeError(key) from exc
    except infrar.storage.errors.StorageError:
        raise


def describe(info: ObjectInfo) -> str:
    return f"{info.key}: {infrar.storage.exists('b', info.key)}"
