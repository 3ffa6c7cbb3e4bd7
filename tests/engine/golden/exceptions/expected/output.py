import infrar_native.storage as s
from infrar_native.storage import ObjectNotFoundError, StorageError


def load(key):
    try:
        return s.read("b", key)
    except ObjectNotFoundError:
        return None
    except s.BucketNotFoundError as exc:
        raise RuntimeError("no bucket") from exc


def classify(exc: Exception) -> str:
    if isinstance(exc, StorageError):
        return "storage"
    if isinstance(exc, (s.PermissionDeniedError, KeyError)):
        return "denied"
    return "other"


class MissingReport(ObjectNotFoundError):
    pass
