"""The thumbnail worker: takes photos off the queue, writes a (pretend) thumbnail of each,
records it in the catalog, and acknowledges the message once the work is done."""

from infrar.kv import get, put
from infrar.queue import ack, receive
from infrar.storage import read, write

from photos.settings import CATALOG, PHOTOS, THUMBNAILS


def work_once() -> int:
    done = 0
    for message in receive(THUMBNAILS, max_messages=10):
        name = message.body
        original = read(PHOTOS, f"originals/{name}")
        write(PHOTOS, f"thumbnails/{name}", original[:4], content_type="image/jpeg")
        entry = get(CATALOG, name)
        put(CATALOG, name, {**entry, "thumbnail": f"thumbnails/{name}"})
        ack(THUMBNAILS, message)
        done += 1
    return done
