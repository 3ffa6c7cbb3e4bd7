"""Objects one by one: write, read, upload, download, exists, delete and metadata.

Imports names from `infrar.storage`, one of them under an alias.
"""

import datetime
import hashlib
import os
import pathlib
import tempfile

from infrar.storage import (
    ObjectInfo,
    ObjectNotFoundError,
    delete,
    download,
    exists,
    get_metadata,
    read,
    write,
)
from infrar.storage import upload as put_file

BUCKET = os.environ["CONFORMANCE_BUCKET"]


def show(label, value):
    print(f"{label}: {value!r}")


def describe(key):
    info = get_metadata(BUCKET, key)
    age = datetime.datetime.now(datetime.timezone.utc) - info.last_modified
    show(f"{key} info is ObjectInfo", isinstance(info, ObjectInfo))
    show(f"{key} info.key", info.key)
    show(f"{key} info.size", info.size)
    show(f"{key} info.content_type", info.content_type)
    show(f"{key} info.metadata", info.metadata)
    show(f"{key} last_modified type", type(info.last_modified).__name__)
    show(f"{key} last_modified is UTC", info.last_modified.utcoffset() == datetime.timedelta(0))
    show(f"{key} last_modified is recent", abs(age) < datetime.timedelta(minutes=10))
    show(f"{key} etag is a non-empty str", isinstance(info.etag, str) and bool(info.etag))
    show(f"{key} etag has no quotes", '"' not in info.etag)
    return info


def main():
    write(BUCKET, "bytes.bin", b"\x00\x01binary\xff")
    show("read bytes", read(BUCKET, "bytes.bin"))
    show("read returns bytes", type(read(BUCKET, "bytes.bin")).__name__)

    write(BUCKET, "text.txt", "héllo wörld ✓")
    show("read str as utf-8", read(BUCKET, "text.txt"))
    show("round trip str", read(BUCKET, "text.txt").decode("utf-8") == "héllo wörld ✓")

    write(BUCKET, "bytearray.bin", bytearray(b"from a bytearray"))
    write(BUCKET, "memoryview.bin", memoryview(b"from a memoryview"))
    show("read bytearray", read(BUCKET, "bytearray.bin"))
    show("read memoryview", read(BUCKET, "memoryview.bin"))

    write(BUCKET, "empty.bin", b"")
    show("read empty", read(BUCKET, "empty.bin"))
    describe("empty.bin")

    describe("bytes.bin")
    write(
        BUCKET,
        "typed.json",
        '{"a": 1}',
        content_type="application/json",
        metadata={"owner": "ada", "build_id": "42", "note": "Spaces & symbols: ok!"},
    )
    first = describe("typed.json")

    write(BUCKET, "typed.json", b"[]")
    second = describe("typed.json")
    show("overwrite replaces content", read(BUCKET, "typed.json"))
    show("overwrite changes etag", first.etag != second.etag)

    for key in ("dossier/ünïcödé ключ.txt", "special/a+b%20c&d=e;f.txt", "deep/a/b/c/d.txt"):
        write(BUCKET, key, key)
        show(f"exists {key}", exists(BUCKET, key))
        show(f"read {key}", read(BUCKET, key).decode())

    show("exists missing", exists(BUCKET, "no/such/key"))
    print(f"exists in an f-string: {exists(BUCKET, 'bytes.bin')}")

    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "source.dat")
        payload = bytes(range(256)) * 4096
        with open(source, "wb") as handle:
            handle.write(payload)
        put_file(BUCKET, source, "uploads/source.dat")
        put_file(
            BUCKET,
            pathlib.Path(source),
            "uploads/typed.dat",
            content_type="application/x-custom",
            metadata={"origin": "upload"},
        )
        describe("uploads/source.dat")
        describe("uploads/typed.dat")

        target = os.path.join(folder, "target.dat")
        download(BUCKET, "uploads/source.dat", target)
        with open(target, "rb") as handle:
            show("download round trip", hashlib.sha256(handle.read()).hexdigest()
                 == hashlib.sha256(payload).hexdigest())
        download(BUCKET, "text.txt", pathlib.Path(folder) / "text.txt")
        show("download to a Path", (pathlib.Path(folder) / "text.txt").read_bytes())

        missing_target = os.path.join(folder, "missing.dat")
        try:
            download(BUCKET, "no/such/key", missing_target)
        except ObjectNotFoundError:
            show("download missing raises ObjectNotFoundError", True)
        show("failed download leaves no file", os.path.exists(missing_target))
        try:
            download(BUCKET, "no/such/key", target)
        except ObjectNotFoundError:
            pass
        with open(target, "rb") as handle:
            show("failed download keeps an existing file", len(handle.read()) == len(payload))
        show("no partial files left", sorted(os.listdir(folder)))

    delete(BUCKET, "bytes.bin")
    show("exists after delete", exists(BUCKET, "bytes.bin"))
    delete(BUCKET, "bytes.bin")
    show("delete missing is fine", True)
    try:
        read(BUCKET, "bytes.bin")
    except ObjectNotFoundError:
        show("read deleted raises ObjectNotFoundError", True)
    try:
        get_metadata(BUCKET, "bytes.bin")
    except ObjectNotFoundError:
        show("get_metadata deleted raises ObjectNotFoundError", True)


if __name__ == "__main__":
    main()
