"""Storage of photos; the only module that talks to the SDK."""

from infrar.storage import ObjectNotFoundError, list_objects, read, write

from photos.settings import PHOTOS

__all__ = ["ObjectNotFoundError", "load", "names", "save"]


def save(name: str, data: bytes) -> None:
    write(PHOTOS, f"originals/{name}", data, content_type="image/jpeg", metadata={"owner": "demo"})


def load(name: str) -> bytes:
    return read(PHOTOS, f"originals/{name}")


def names() -> list[str]:
    return list_objects(PHOTOS, prefix="originals/")
