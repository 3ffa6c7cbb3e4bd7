"""Local stand-ins for Google Secret Manager and Azure Key Vault, which have no emulator.

Each serves, on 127.0.0.1, the requests the official client library sends (found by reading
the library's REST transport and checked against what arrives here), answers with the
response types that library ships, and records every request so a test can assert exactly
what the code sent. Both authenticate the way the cloud does:

- `SecretManagerFake`: plain HTTP (what the REST transport accepts for an `api_endpoint` with
  the http scheme). Every request must carry the self-signed JWT that google-auth makes from a
  service-account key (gapic clients always use one), signed by the key given to the fake.
- `KeyVaultFake`: HTTPS with a throwaway self-signed certificate for 127.0.0.1 (trusted through
  REQUESTS_CA_BUNDLE, which azure-core's requests transport honours). A request without a token
  gets Key Vault's 401 challenge; the token comes from the fake's App Service managed-identity
  endpoint (IDENTITY_ENDPOINT and IDENTITY_HEADER, as azure-identity reads them).

Neither keeps anything but values in memory; each runs in a thread of the test process and is
stopped by its fixture.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import re
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
_F = TypeVar("_F", bound="_Fake")


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    """The JSON body, parsed; None when there is none."""


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class _Fake:
    """A threaded HTTP server that hands each request to `answer` and records it."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.scheme = "http"

    @property
    def port(self) -> int:
        assert self._server is not None, "the fake is not running"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    def answer(self, request: Recorded) -> _Reply:
        raise NotImplementedError

    def wrap(self, server: http.server.ThreadingHTTPServer) -> None:
        """Called before serving: a chance to put TLS around the socket."""

    def start(self: _F) -> _F:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the test reads `requests`, not a log

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method=self.command, path=parts.path, query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None)
                with fake._lock:
                    fake.requests.append(recorded)
                    reply = fake.answer(recorded)
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.wrap(self._server)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def take_requests(self) -> list[Recorded]:
        """Every request since the last call, oldest first."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken


def _error(status: int, code: str, message: str) -> _Reply:
    """Google's JSON error body, which google.api_core turns into its exception classes."""
    return _Reply(status, {"error": {"code": status, "message": message, "status": code}})


class SecretManagerFake(_Fake):
    """Secret Manager v1 over REST: create a secret, add a version, access a version."""

    ACCESS = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/]+)/versions/([^/:]+):access$")
    ADD = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+):addVersion$")
    CREATE = re.compile(r"^/v1/projects/([^/]+)/secrets$")

    def __init__(self, project: str, public_key_pem: str) -> None:
        super().__init__()
        self.project = project
        self.public_key_pem = public_key_pem
        self.secrets: dict[str, list[bytes]] = {}
        """Secret ID -> the data of its versions 1, 2, ..."""

    def _authorized(self, request: Recorded) -> bool:
        from google.auth import jwt

        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(header[len("Bearer "):], certs=self.public_key_pem, verify=True)
        except ValueError:
            return False
        return "https://www.googleapis.com/auth/cloud-platform" in str(claims.get("scope", ""))

    def answer(self, request: Recorded) -> _Reply:
        from google.cloud.secretmanager_v1 import types

        if not self._authorized(request):
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if request.method == "POST" and (match := self.CREATE.match(request.path)):
            secret_id = request.query.get("secretId", [""])[0]
            if match[1] != self.project:
                return _error(403, "PERMISSION_DENIED", f"Permission denied on project {match[1]}.")
            if secret_id in self.secrets:
                return _error(409, "ALREADY_EXISTS", f"Secret [{secret_id}] already exists.")
            types.Secret.from_json(json.dumps(request.body or {}))  # the body must be a Secret
            self.secrets[secret_id] = []
            secret = types.Secret(name=f"projects/{self.project}/secrets/{secret_id}",
                                  replication=types.Replication(
                                      automatic=types.Replication.Automatic()))
            return _Reply(200, json.loads(types.Secret.to_json(secret)))
        if request.method == "POST" and (match := self.ADD.match(request.path)):
            versions = self._versions(match[1], match[2])
            if versions is None:
                return _error(404, "NOT_FOUND", f"Secret [{match[2]}] not found.")
            added = types.AddSecretVersionRequest.from_json(json.dumps(request.body or {}))
            versions.append(added.payload.data)
            version = types.SecretVersion(
                name=f"projects/{self.project}/secrets/{match[2]}/versions/{len(versions)}",
                state=types.SecretVersion.State.ENABLED)
            return _Reply(200, json.loads(types.SecretVersion.to_json(version)))
        if request.method == "GET" and (match := self.ACCESS.match(request.path)):
            versions = self._versions(match[1], match[2]) or []
            wanted = match[3]
            number = len(versions) if wanted == "latest" else int(wanted) \
                if wanted.isdigit() else 0
            if not 1 <= number <= len(versions):
                return _error(404, "NOT_FOUND", f"Secret Version [projects/{match[1]}/secrets/"
                                                f"{match[2]}/versions/{wanted}] not found.")
            response = types.AccessSecretVersionResponse(
                name=f"projects/{self.project}/secrets/{match[2]}/versions/{number}",
                payload=types.SecretPayload(data=versions[number - 1]))
            return _Reply(200, json.loads(types.AccessSecretVersionResponse.to_json(response)))
        return _error(404, "NOT_FOUND", f"no route for {request.method} {request.path}")

    def _versions(self, project: str, secret_id: str) -> list[bytes] | None:
        return self.secrets.get(secret_id) if project == self.project else None


def service_account_key() -> tuple[dict[str, str], str]:
    """A throwaway service-account key (as a key file holds it) and its public key in PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    info = {
        "type": "service_account", "project_id": "test-project", "private_key_id": "fake-key",
        "private_key": private, "client_email": "app@test-project.iam.gserviceaccount.com",
        # Never called: gapic clients sign their own JWTs with the key.
        "client_id": "0", "token_uri": f"http://{HOST}:9/token",
    }
    return info, public.decode()


class KeyVaultFake(_Fake):
    """Key Vault secrets over HTTPS (set, get latest, get a version) and an App Service
    managed-identity token endpoint, with Key Vault's challenge on an unauthorized request."""

    SECRET = re.compile(r"^/secrets/([^/]+)(?:/([^/]*))?$")
    TOKEN_PATH = "/msi/token"
    TENANT = "00000000-0000-0000-0000-00000000fa4e"

    def __init__(self, certificate: Path, private_key: Path) -> None:
        super().__init__()
        self.scheme = "https"
        self.certificate, self.private_key = certificate, private_key
        self.identity_header = secrets.token_hex(16)
        self.tokens: set[str] = set()
        self.secrets: dict[str, list[tuple[str, str]]] = {}
        """Secret name -> its (version, value) pairs, oldest first."""

    def wrap(self, server: http.server.ThreadingHTTPServer) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.private_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)

    @property
    def vault_url(self) -> str:
        return self.endpoint

    @property
    def resource(self) -> str:
        """What the challenge asks a token for. Key Vault names a domain that the vault's host
        ends with (vault.azure.net for x.vault.azure.net), and the client checks that it does;
        the only such suffix of 127.0.0.1:PORT is 0.0.1:PORT."""
        return f"https://0.0.1:{self.port}"

    @property
    def identity_endpoint(self) -> str:
        return self.endpoint + self.TOKEN_PATH

    def answer(self, request: Recorded) -> _Reply:
        from azure.keyvault.secrets._generated import models

        if request.path == self.TOKEN_PATH:
            return self._token(request)
        header = request.headers.get("authorization", "")
        if header.removeprefix("Bearer ") not in self.tokens:
            challenge = (f'Bearer authorization="https://login.microsoftonline.com/{self.TENANT}", '
                         f'resource="{self.resource}"')
            return _Reply(401, {"error": {"code": "Unauthorized",
                                          "message": "AKV10000: Request is missing a Bearer or "
                                                     "PoP token."}},
                          {"WWW-Authenticate": challenge})
        match = self.SECRET.match(request.path)
        if match is None or not request.query.get("api-version"):
            return self._error(400, "BadParameter", "Unknown request")
        name, version = match[1], match[2] or ""
        if request.method == "PUT" and match[2] is None:
            body = models.SecretSetParameters(request.body or {})
            created = uuid.uuid4().hex
            self.secrets.setdefault(name.lower(), []).append((created, body.value))
            return _Reply(200, self._bundle(name, created, body.value))
        if request.method == "GET":
            stored = self.secrets.get(name.lower(), [])
            found = [p for p in stored if p[0] == version.lower()] if version else stored[-1:]
            if not found:
                shown = f"{name}/{version}" if version else name
                return self._error(404, "SecretNotFound",
                                   f"A secret with (name/id) {shown} was not found in this key "
                                   "vault. If you recently deleted this secret you may be able to "
                                   "recover it using the correct recovery command.")
            return _Reply(200, self._bundle(name, *found[-1]))
        return self._error(405, "BadParameter", f"{request.method} is not supported here")

    def _token(self, request: Recorded) -> _Reply:
        if request.headers.get("x-identity-header") != self.identity_header:
            return _Reply(400, {"error": "invalid_request",
                                "error_description": "X-IDENTITY-HEADER is missing or wrong"})
        if request.query.get("resource") != [self.resource] \
                or request.query.get("api-version") != ["2019-08-01"]:
            return _Reply(400, {"error": "invalid_resource",
                                "error_description": str(request.query)})
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return _Reply(200, {"access_token": token, "expires_on": str(int(time.time()) + 3600),
                            "resource": self.resource, "token_type": "Bearer"})

    def _bundle(self, name: str, version: str, value: str) -> dict[str, Any]:
        from azure.keyvault.secrets._generated import models

        now = datetime.datetime.now(datetime.timezone.utc)
        bundle = models.SecretBundle(
            value=value, id=f"{self.vault_url}/secrets/{name}/{version}",
            attributes=models.SecretAttributes(enabled=True, created=now, updated=now,
                                               recovery_level="Recoverable"))
        return dict(bundle.as_dict())

    @staticmethod
    def _error(status: int, code: str, message: str) -> _Reply:
        return _Reply(status, {"error": {"code": code, "message": message}})


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fake-vault.pem", folder / "fake-vault-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
