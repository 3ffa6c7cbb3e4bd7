"""The ledger's entry point: `python -m ledger.main` from the top of the tree.

Entries go to ARCHIVE (a constant of `settings`) and INBOX (from the environment) through
names that `store` re-exports; errors raised in one module are caught in another.
"""

import dataclasses
import pickle
import typing

import infrar.storage as sdk
from infrar.storage import ObjectInfo, ObjectNotFoundError, StorageError
from ledger import store
from ledger.errors import EntryMissing, LedgerError
from ledger.records import Entry, largest
from ledger.reports.summary import inventory, probe_void
from ledger.settings import ARCHIVE, INBOX, VOID

from .store import copy, delete, describe, exists, fetch, list_objects, load, read, write


def show(label, value):
    print(f"{label}: {value!r}")


def note(label, value):
    print(f"evaluated {label}")
    return value


def hint_names(hints):
    return {name: getattr(hint, "__name__", str(hint)) for name, hint in hints.items()}


def arguments():
    print("-- arguments are evaluated in the order written")
    write(key=note("key", "entries/a.txt"), bucket=note("bucket", ARCHIVE),
          data=note("data", b"alpha"))
    write(note("bucket", INBOX), metadata=note("metadata", {"owner": "ada"}),
          data=note("data", "inbox entry"), key=note("key", "in.txt"),
          content_type=note("content_type", "text/plain"))
    copy(note("bucket", INBOX), destination=note("destination", "entries/b.txt"),
         source=note("source", "in.txt"), destination_bucket=note("destination_bucket", ARCHIVE))
    show("archive entry", read(ARCHIVE, "entries/a.txt"))
    show("inbox entry through the store module", store.read(INBOX, "in.txt"))
    show("copied entry", fetch("entries/b.txt"))
    show("inventory", inventory())


def objects():
    print("-- ObjectInfo made in one module, checked in another")
    info = describe("entries/b.txt")
    show("describe returns an ObjectInfo", isinstance(info, ObjectInfo))
    show("and the package's ObjectInfo", isinstance(info, sdk.ObjectInfo))
    show("store re-exports the same class", store.ObjectInfo is ObjectInfo)
    show("info.key", info.key)
    show("info.size", info.size)
    show("info.content_type", info.content_type)
    show("info.metadata", info.metadata)
    show("ObjectInfo fields", [field.name for field in dataclasses.fields(ObjectInfo)])
    show("ObjectInfo hints", {n: str(h) for n, h in typing.get_type_hints(ObjectInfo).items()})
    show("an unpickled info is equal", pickle.loads(pickle.dumps(info)) == info)
    show("replace keeps the type", type(dataclasses.replace(info, size=0)).__name__)
    entry = Entry("entries/b.txt", info)
    show("Entry hints", hint_names(typing.get_type_hints(Entry)))
    show("Entry.info hint is ObjectInfo", typing.get_type_hints(Entry)["info"] is ObjectInfo)
    show("describe hints", hint_names(typing.get_type_hints(describe)))
    show("describe return hint is ObjectInfo",
         typing.get_type_hints(describe)["return"] is ObjectInfo)
    hints = typing.get_type_hints(largest)
    show("largest return hint is ObjectInfo", hints["return"] is ObjectInfo)
    show("largest argument hint", str(hints["infos"]).replace(ObjectInfo.__module__, "<sdk>"))
    show("largest entry", largest([describe("entries/a.txt"), entry.info]).key)


def errors():
    print("-- errors raised in one module, caught in another")
    try:
        load(ARCHIVE, "entries/absent.txt")
    except ObjectNotFoundError as error:
        show("load fails with", type(error).__name__)
        show("it is a StorageError", isinstance(error, StorageError))
        show("it is the class store re-exports", isinstance(error, store.ObjectNotFoundError))
        show("it survives pickling", type(pickle.loads(pickle.dumps(error))).__name__)
    try:
        fetch("entries/absent.txt")
    except ObjectNotFoundError as error:
        show("fetch fails with", type(error).__name__)
        show("it is a LedgerError", isinstance(error, LedgerError))
        show("it names the entry", error.entry)
        show("its cause", type(error.__cause__).__name__)
        show("its cause is the SDK's error", isinstance(error.__cause__, sdk.ObjectNotFoundError))
    try:
        raise EntryMissing("by hand")
    except sdk.StorageError as error:
        show("a user subclass raised here is caught as StorageError", type(error).__name__)
    show("EntryMissing is an ObjectNotFoundError", issubclass(EntryMissing, ObjectNotFoundError))
    show("EntryMissing bases", [base.__name__ for base in EntryMissing.__mro__])
    show("a missing bucket, from the reports subpackage", probe_void())
    try:
        exists(VOID, "anything.txt")
    except (ObjectNotFoundError, sdk.BucketNotFoundError) as error:
        show("exists on a missing bucket fails with", type(error).__name__)
        show("it is not an ObjectNotFoundError", not isinstance(error, ObjectNotFoundError))
    try:
        store.read(INBOX, "absent.txt")
    except LedgerError:
        show("a plain SDK error is not a LedgerError", False)
    except StorageError as error:
        show("a plain SDK error is not a LedgerError", not isinstance(error, LedgerError))


def main():
    arguments()
    objects()
    errors()
    delete(ARCHIVE, "entries/b.txt")
    show("deleted entry exists", exists(ARCHIVE, "entries/b.txt"))
    show("archive holds", list_objects(ARCHIVE))


if __name__ == "__main__":
    main()
