"""A ledger kept in object storage, written once against the SDK and split across modules."""

from .errors import EntryMissing, LedgerError

__all__ = ["EntryMissing", "LedgerError"]
