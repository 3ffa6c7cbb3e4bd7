"""A small container registry on loopback, speaking the push side of the OCI distribution API
(the routes buildah uses): blob existence, blob uploads (monolithic or in chunks), manifests by
tag or digest. It checks what a registry checks: each blob's digest, and that a manifest names
only blobs it holds. Optional Basic authentication stands for the provider's registry login.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field

from flask import Flask, Response, request
from werkzeug.serving import make_server

API_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


@dataclass
class Stored:
    blobs: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """Digest -> (media type, bytes)."""
    tags: dict[tuple[str, str], str] = field(default_factory=dict)
    """(repository, tag) -> manifest digest."""
    logins: list[str] = field(default_factory=list)


class FakeRegistry:
    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.stored = Stored()
        self._credentials = (username, password) if username is not None else None
        self.app = _app(self)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FakeRegistry:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)

    def digest_of(self, repository: str, tag: str) -> str | None:
        return self.stored.tags.get((repository, tag))

    def manifest(self, digest: str) -> dict[str, object]:
        document: dict[str, object] = json.loads(self.stored.manifests[digest][1])
        return document

    def authorized(self) -> bool:
        if self._credentials is None:
            return True
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        ok = (username, password) == self._credentials
        if ok:
            self.stored.logins.append(username)
        return ok


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"errors": [{"code": code, "message": message}]})
    return Response(body, status=status, content_type="application/json", headers=API_HEADER)


def _app(registry: FakeRegistry) -> Flask:
    app = Flask("registry_fake")
    stored = registry.stored

    @app.before_request
    def authenticate() -> Response | None:
        if registry.authorized():
            return None
        response = _error(401, "UNAUTHORIZED", "authentication required")
        response.headers["WWW-Authenticate"] = 'Basic realm="fake registry"'
        return response

    @app.get("/v2/")
    def version() -> Response:
        return Response("{}", content_type="application/json", headers=API_HEADER)

    @app.route("/v2/<path:name>/blobs/<digest>", methods=["GET", "HEAD"])
    def blob(name: str, digest: str) -> Response:
        data = stored.blobs.get(digest)
        if data is None:
            return _error(404, "BLOB_UNKNOWN", digest)
        headers = {**API_HEADER, "Docker-Content-Digest": digest,
                   "Content-Length": str(len(data))}
        body = b"" if request.method == "HEAD" else data
        return Response(body, content_type="application/octet-stream", headers=headers)

    @app.post("/v2/<path:name>/blobs/uploads/")
    def start_upload(name: str) -> Response:
        digest = request.args.get("digest")
        if digest is not None:  # monolithic: the whole blob in this request
            return _finish(name, bytearray(request.get_data()), digest)
        upload = uuid.uuid4().hex
        stored.uploads[upload] = bytearray()
        return _accepted(name, upload)

    @app.patch("/v2/<path:name>/blobs/uploads/<upload>")
    def chunk(name: str, upload: str) -> Response:
        if upload not in stored.uploads:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", upload)
        stored.uploads[upload] += request.get_data()
        return _accepted(name, upload)

    @app.put("/v2/<path:name>/blobs/uploads/<upload>")
    def end_upload(name: str, upload: str) -> Response:
        if upload not in stored.uploads:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", upload)
        data = stored.uploads.pop(upload) + request.get_data()
        return _finish(name, data, request.args.get("digest", ""))

    @app.put("/v2/<path:name>/manifests/<reference>")
    def put_manifest(name: str, reference: str) -> Response:
        data = request.get_data()
        digest = _sha256(data)
        if reference.startswith("sha256:") and reference != digest:
            return _error(400, "DIGEST_INVALID", reference)
        try:
            document = json.loads(data)
        except ValueError:
            return _error(400, "MANIFEST_INVALID", "not JSON")
        named = [document.get("config", {}), *document.get("layers", [])]
        missing = [d.get("digest") for d in named if d.get("digest") not in stored.blobs]
        if missing:
            return _error(400, "MANIFEST_BLOB_UNKNOWN", ", ".join(map(str, missing)))
        stored.manifests[digest] = (request.content_type or "", data)
        if not reference.startswith("sha256:"):
            stored.tags[(name, reference)] = digest
        headers = {**API_HEADER, "Docker-Content-Digest": digest,
                   "Location": f"/v2/{name}/manifests/{digest}"}
        return Response("", status=201, headers=headers)

    @app.route("/v2/<path:name>/manifests/<reference>", methods=["GET", "HEAD"])
    def get_manifest(name: str, reference: str) -> Response:
        digest = stored.tags.get((name, reference), reference)
        if digest not in stored.manifests:
            return _error(404, "MANIFEST_UNKNOWN", reference)
        media_type, data = stored.manifests[digest]
        headers = {**API_HEADER, "Docker-Content-Digest": digest,
                   "Content-Length": str(len(data))}
        body = b"" if request.method == "HEAD" else data
        return Response(body, content_type=media_type, headers=headers)

    def _accepted(name: str, upload: str) -> Response:
        size = len(stored.uploads[upload])
        headers = {**API_HEADER, "Location": f"/v2/{name}/blobs/uploads/{upload}",
                   "Docker-Upload-UUID": upload, "Range": f"0-{max(size - 1, 0)}",
                   "Content-Length": "0"}
        return Response("", status=202, headers=headers)

    def _finish(name: str, data: bytearray, digest: str) -> Response:
        if _sha256(bytes(data)) != digest:
            return _error(400, "DIGEST_INVALID", f"{digest} does not match the data")
        stored.blobs[digest] = bytes(data)
        headers = {**API_HEADER, "Docker-Content-Digest": digest,
                   "Location": f"/v2/{name}/blobs/{digest}"}
        return Response("", status=201, headers=headers)

    return app
