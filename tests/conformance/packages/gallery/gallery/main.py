"""The gallery's entry point: `python -m gallery.main` from the top of the tree."""

import typing

import gallery
import gallery.config as config
import infrar
import infrar.storage.errors
from gallery import frames
from gallery.shelf import failures, snapshot
from infrar import storage as pictures


def show(label, value):
    print(f"{label}: {value!r}")


def main():
    print("-- the SDK through its package and its modules")
    pictures.write(config.PICTURES, "cat.txt", "a cat")
    infrar.storage.write(config.UPLOADS, "dog.txt", b"a dog", content_type="text/plain")
    pictures.copy(config.UPLOADS, "dog.txt", "dog.txt", destination_bucket=config.PICTURES)
    show("pictures", pictures.list_objects(config.PICTURES))
    show("uploads", infrar.storage.list_objects(config.UPLOADS))
    info = infrar.storage.get_metadata(config.PICTURES, "dog.txt")
    show("info is the re-exported ObjectInfo", isinstance(info, gallery.ObjectInfo))
    show("info is the package's ObjectInfo", isinstance(info, infrar.storage.ObjectInfo))
    show("info content type", info.content_type)

    print("-- one class, whichever way it is imported")
    show("errors module class is the package's",
         infrar.storage.errors.ObjectNotFoundError is pictures.ObjectNotFoundError)
    show("re-exported by * is the package's",
         gallery.ObjectNotFoundError is pictures.ObjectNotFoundError)
    show("errors module re-exported under another name",
         failures.BucketNotFoundError is infrar.storage.BucketNotFoundError)
    show("gallery re-exports", sorted(gallery.__all__))
    show("a star import leaves the module's own names", snapshot(["copy", "of", "a", "list"]))

    print("-- errors raised here, caught through other names")
    try:
        pictures.read(config.PICTURES, "bird.txt")
    except gallery.StorageError as error:
        show("caught through gallery", frames.label(error))
        show("is the errors module's class",
             isinstance(error, infrar.storage.errors.ObjectNotFoundError))
    try:
        infrar.storage.delete(config.UPLOADS + "-gone", "dog.txt")
    except failures.BucketNotFoundError as error:
        show("caught through the errors alias", type(error).__name__)

    print("-- annotations evaluated late")
    framed = frames.frame("dog", info)
    hints = typing.get_type_hints(frames.Frame)
    show("Frame.info hint is ObjectInfo", hints["info"] is pictures.ObjectInfo)
    show("Frame.previous hint", str(hints["previous"]).replace(
        pictures.ObjectInfo.__module__, "<sdk>"))
    # `frames` imports ObjectInfo only for type checkers: the caller supplies it.
    hints = typing.get_type_hints(frames.frame, localns={"ObjectInfo": gallery.ObjectInfo})
    show("frame hints", {n: getattr(h, "__name__", str(h)) for n, h in hints.items()})
    show("frame info hint is ObjectInfo", hints["info"] is infrar.storage.ObjectInfo)
    show("label hint is StorageError",
         typing.get_type_hints(frames.label)["error"] is infrar.storage.StorageError)
    show("framed info key", framed.info.key)
    pictures.delete(config.PICTURES, "cat.txt")
    show("cat after delete", pictures.exists(config.PICTURES, "cat.txt"))


if __name__ == "__main__":
    main()
