"""The SDK's submodules (errors, types) fold into the native capability module."""
import infrar_native.storage
import infrar_native.storage
import infrar_native.storage as s
from infrar_native import storage as errors
from infrar_native import storage as e
from infrar_native.storage import read
from infrar_native.storage import ObjectNotFoundError as Missing
from infrar_native.storage import ObjectInfo


def load(key: str) -> bytes | None:
    try:
        return read("b", key)
    except Missing:
        return None
    except (errors.BucketNotFoundError, e.PermissionDeniedError):
        raise
    except s.StorageError as exc:
        raise RuntimeError(key) from exc
    except infrar_native.storage.StorageError:
        raise


def describe(info: ObjectInfo) -> str:
    return f"{info.key}: {infrar_native.storage.exists('b', info.key)}"
