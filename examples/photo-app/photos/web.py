"""The photo service over HTTP (a WSGI application): POST /photos/<name> stores the body as a
photo, GET /photos lists them with what is known of each, GET /photos/<name> reads one back."""

import json
from collections.abc import Callable, Iterable

from photos.store import ObjectNotFoundError, describe, load, names, save

PREFIX = "/photos"
MAX_PHOTO = 10 * 1024 * 1024


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    path, method = environ.get("PATH_INFO", "/"), environ["REQUEST_METHOD"]
    if path == "/healthz":
        return _answer(start_response, "200 OK", b"ok\n", "text/plain")
    if path in (PREFIX, PREFIX + "/") and method == "GET":
        listing = {name: describe(name) for name in _names()}
        return _json(start_response, "200 OK", listing)
    name = path.removeprefix(PREFIX + "/")
    if not path.startswith(PREFIX + "/") or not name or "/" in name:
        return _json(start_response, "404 Not Found", {"error": f"nothing at {path}"})
    if method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        if not 0 < size <= MAX_PHOTO:
            return _json(start_response, "400 Bad Request",
                         {"error": f"a photo is 1 byte to {MAX_PHOTO} bytes"})
        save(name, environ["wsgi.input"].read(size))
        return _json(start_response, "201 Created", {"stored": name, "size": size})
    if method == "GET":
        try:
            return _answer(start_response, "200 OK", load(name), "image/jpeg")
        except ObjectNotFoundError:
            return _json(start_response, "404 Not Found", {"error": f"no photo {name!r}"})
    return _json(start_response, "405 Method Not Allowed", {"error": f"{method} {path}"})


def _names() -> list[str]:
    return [key.removeprefix("originals/") for key in names()]


def _json(start_response: Callable, status: str, value: object) -> Iterable[bytes]:
    return _answer(start_response, status, json.dumps(value).encode() + b"\n",
                   "application/json")


def _answer(start_response: Callable, status: str, body: bytes,
            content_type: str) -> Iterable[bytes]:
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(body)))])
    return [body]
