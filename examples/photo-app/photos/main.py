"""Store two photos, make their thumbnails, and miss a third: the error raised in `store` is
caught here. Share links are signed with a key kept as a secret."""

import hashlib
import hmac
import os

from infrar.secrets import SecretNotFoundError, get_secret, set_secret

from photos.settings import SIGNING_KEY
from photos.store import ObjectNotFoundError, describe, load, names, save, sizes
from photos.thumbnails import work_once


def share_link(name: str) -> str:
    key = get_secret(SIGNING_KEY).encode()
    return f"/photos/{name}?sig={hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:16]}"


def main() -> None:
    print("environment:", os.environ.get("INFRAR_ENVIRONMENT", "(not set)"))
    try:
        get_secret(SIGNING_KEY)
    except SecretNotFoundError:
        set_secret(SIGNING_KEY, "a key only this environment knows")  # as a deployer would
    save("cat.jpg", b"\xff\xd8 a cat")
    save("dog.jpg", b"\xff\xd8 a dog")
    print("stored:", names())
    print("thumbnails made:", work_once())
    print("cat:", describe("cat.jpg"), "-", len(load("cat.jpg")), "bytes")
    print("sizes:", sizes())
    print("share link for cat.jpg is signed:", "sig=" in share_link("cat.jpg"))
    try:
        load("missing.jpg")
    except ObjectNotFoundError as error:
        print(f"missing.jpg: {type(error).__name__}, as expected")


if __name__ == "__main__":
    main()
