"""What the archive holds, and what a missing bucket does, seen from a subpackage."""

import infrar.storage

from ..settings import ARCHIVE, VOID
from ..store import list_objects, load


def inventory(prefix="entries/"):
    return list_objects(ARCHIVE, prefix=prefix)


def probe_void():
    """The error is raised by `store.load`, in another module, and caught here."""
    try:
        load(VOID, "anything.txt")
    except infrar.storage.BucketNotFoundError as error:
        return type(error).__name__
    return "no error"
