"""Store two photos, list them, and miss a third: the error raised in `store` is caught here."""

import os

from photos.store import ObjectNotFoundError, load, names, save


def main() -> None:
    print("environment:", os.environ.get("INFRAR_ENVIRONMENT", "(not set)"))
    save("cat.jpg", b"\xff\xd8 a cat")
    save("dog.jpg", b"\xff\xd8 a dog")
    print("stored:", names())
    print("cat is", len(load("cat.jpg")), "bytes")
    try:
        load("missing.jpg")
    except ObjectNotFoundError as error:
        print(f"missing.jpg: {type(error).__name__}, as expected")


if __name__ == "__main__":
    main()
