"""The ledger's own errors: subclasses of the SDK's, raised in `store`, caught elsewhere."""

from infrar.storage import ObjectNotFoundError, StorageError


class LedgerError(StorageError):
    """Something the ledger refuses."""


class EntryMissing(LedgerError, ObjectNotFoundError):
    """The entry asked for is not in the archive."""

    def __init__(self, entry):
        super().__init__(f"no entry {entry!r}")
        self.entry = entry
