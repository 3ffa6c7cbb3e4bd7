"""Storage of photos: the originals in a bucket, what is known of them in a table, and a queue
of photos waiting for a thumbnail."""

from infrar.kv import get, put, scan
from infrar.queue import send
from infrar.storage import ObjectNotFoundError, list_objects, read, write

from photos.settings import CATALOG, PHOTOS, THUMBNAILS

__all__ = ["ObjectNotFoundError", "describe", "load", "names", "save", "sizes"]


def save(name: str, data: bytes) -> None:
    write(PHOTOS, f"originals/{name}", data, content_type="image/jpeg", metadata={"owner": "demo"})
    put(CATALOG, name, {"size": len(data), "thumbnail": None})
    send(THUMBNAILS, name)


def load(name: str) -> bytes:
    return read(PHOTOS, f"originals/{name}")


def names() -> list[str]:
    return list_objects(PHOTOS, prefix="originals/")


def describe(name: str) -> dict:
    return get(CATALOG, name)


def sizes() -> dict[str, int]:
    return {name: get(CATALOG, name)["size"] for name in scan(CATALOG)}
