"""Errors: the same exception for the same mistake, caught by the same `except` clause.

Uses the SDK through the package: `import infrar` then `infrar.storage.<name>`.
"""

import os
import tempfile

import infrar

BUCKET = os.environ["CONFORMANCE_BUCKET"]
MISSING_BUCKET = os.environ["CONFORMANCE_MISSING_BUCKET"]


def show(label, value):
    print(f"{label}: {value!r}")


def outcome(action):
    try:
        result = action()
    except infrar.storage.ObjectNotFoundError:
        return "ObjectNotFoundError"
    except infrar.storage.BucketNotFoundError:
        return "BucketNotFoundError"
    except infrar.storage.PermissionDeniedError:
        return "PermissionDeniedError"
    except infrar.storage.StorageError:
        return "StorageError"
    except (TypeError, ValueError) as error:
        return type(error).__name__
    return f"ok {result!r}"


def main():
    show("ObjectNotFoundError is a StorageError",
         issubclass(infrar.storage.ObjectNotFoundError, infrar.storage.StorageError))
    show("BucketNotFoundError is a StorageError",
         issubclass(infrar.storage.BucketNotFoundError, infrar.storage.StorageError))
    show("PermissionDeniedError is a StorageError",
         issubclass(infrar.storage.PermissionDeniedError, infrar.storage.StorageError))
    show("StorageError is an Exception", issubclass(infrar.storage.StorageError, Exception))

    infrar.storage.write(BUCKET, "present.txt", b"here")

    try:
        infrar.storage.read(BUCKET, "absent.txt")
    except infrar.storage.ObjectNotFoundError as error:
        show("except ObjectNotFoundError catches a missing key", isinstance(error, Exception))
        show("the message names the key", "absent.txt" in str(error))

    try:
        infrar.storage.get_metadata(BUCKET, "absent.txt")
    except infrar.storage.StorageError as error:
        show("except StorageError catches ObjectNotFoundError",
             isinstance(error, infrar.storage.ObjectNotFoundError))

    try:
        infrar.storage.list_objects(MISSING_BUCKET)
    except infrar.storage.StorageError as error:
        show("except StorageError catches BucketNotFoundError",
             isinstance(error, infrar.storage.BucketNotFoundError))

    try:
        infrar.storage.exists(MISSING_BUCKET, "present.txt")
    except infrar.storage.BucketNotFoundError:
        show("except BucketNotFoundError catches exists on a missing bucket", True)

    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "source.txt")
        with open(source, "w") as handle:
            handle.write("local file")
        target = os.path.join(folder, "target.txt")
        cases = {
            "read": lambda: infrar.storage.read(MISSING_BUCKET, "present.txt"),
            "write": lambda: infrar.storage.write(MISSING_BUCKET, "k.txt", b"x"),
            "upload": lambda: infrar.storage.upload(MISSING_BUCKET, source, "k.txt"),
            "download": lambda: infrar.storage.download(MISSING_BUCKET, "present.txt", target),
            "delete": lambda: infrar.storage.delete(MISSING_BUCKET, "present.txt"),
            "exists": lambda: infrar.storage.exists(MISSING_BUCKET, "present.txt"),
            "list_objects": lambda: infrar.storage.list_objects(MISSING_BUCKET),
            "list_objects prefix": lambda: infrar.storage.list_objects(MISSING_BUCKET, "a/"),
            "copy": lambda: infrar.storage.copy(MISSING_BUCKET, "present.txt", "k.txt"),
            "get_metadata": lambda: infrar.storage.get_metadata(MISSING_BUCKET, "present.txt"),
        }
        for name, action in cases.items():
            show(f"missing bucket: {name}", outcome(action))
        show("missing bucket: download wrote nothing", os.path.exists(target))

        cases = {
            "read": lambda: infrar.storage.read(BUCKET, "absent.txt"),
            "download": lambda: infrar.storage.download(BUCKET, "absent.txt", target),
            "get_metadata": lambda: infrar.storage.get_metadata(BUCKET, "absent.txt"),
            "copy": lambda: infrar.storage.copy(BUCKET, "absent.txt", "k.txt"),
            "exists": lambda: infrar.storage.exists(BUCKET, "absent.txt"),
            "delete": lambda: infrar.storage.delete(BUCKET, "absent.txt"),
        }
        for name, action in cases.items():
            show(f"missing key: {name}", outcome(action))

        cases = {
            "write int data": lambda: infrar.storage.write(BUCKET, "k.txt", 42),
            "write empty key": lambda: infrar.storage.write(BUCKET, "", b"x"),
            "read empty key": lambda: infrar.storage.read(BUCKET, ""),
            "exists empty key": lambda: infrar.storage.exists(BUCKET, ""),
            "delete empty key": lambda: infrar.storage.delete(BUCKET, ""),
            "upper-case metadata key": lambda: infrar.storage.write(
                BUCKET, "k.txt", b"x", metadata={"Owner": "ada"}),
            "metadata key with a dash": lambda: infrar.storage.write(
                BUCKET, "k.txt", b"x", metadata={"build-id": "1"}),
            "non-ASCII metadata value": lambda: infrar.storage.write(
                BUCKET, "k.txt", b"x", metadata={"owner": "adà"}),
            "non-str metadata value": lambda: infrar.storage.write(
                BUCKET, "k.txt", b"x", metadata={"count": 1}),
            "upload with bad metadata": lambda: infrar.storage.upload(
                BUCKET, source, "k.txt", metadata={"Owner": "ada"}),
            "upload of a missing file": lambda: infrar.storage.upload(
                BUCKET, os.path.join(folder, "nope"), "k.txt"),
        }
        for name, action in cases.items():
            try:
                show(f"invalid input: {name}", outcome(action))
            except OSError as error:
                show(f"invalid input: {name}", type(error).__name__)
        show("invalid input wrote nothing", infrar.storage.exists(BUCKET, "k.txt"))
        show("bucket holds", infrar.storage.list_objects(BUCKET))


if __name__ == "__main__":
    main()
