"""A tiny photo service written once against the Infrar SDK."""

from infrar.storage import ObjectNotFoundError, list_objects, read, write

BUCKET = "photos"


def save(name: str, data: bytes) -> None:
    write("photos", f"originals/{name}", data, content_type="image/jpeg", metadata={"owner": "demo"})


def main() -> None:
    save("cat.jpg", b"\xff\xd8 a cat")
    save("dog.jpg", b"\xff\xd8 a dog")
    print("stored:", list_objects("photos", prefix="originals/"))
    print("cat is", len(read("photos", "originals/cat.jpg")), "bytes")
    try:
        read("photos", "originals/missing.jpg")
    except ObjectNotFoundError:
        print("missing.jpg: not found, as expected")


if __name__ == "__main__":
    main()
