"""Local storage emulators (moto S3, gcp-storage-emulator, Azurite Blob) run as subprocesses.

Each emulator binds a free 127.0.0.1 port and is stopped on exit. Clients are pointed at it by
setting every variable in ``.env`` and removing every name in ``.unset`` (see ``apply_env``).
"""

from __future__ import annotations

import http.client
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    import pytest
    from google.oauth2.service_account import Credentials

HOST = "127.0.0.1"
TESTS_DIR = Path(__file__).resolve().parent
AZURITE_BIN = TESTS_DIR / "node_modules" / ".bin" / "azurite-blob"

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

_PORT_IN_USE = ("address already in use", "eaddrinuse")
_E = TypeVar("_E", bound="Emulator")


class EmulatorError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _answers(port: int, path: str) -> bool:
    # http.client rather than urllib/requests: no proxy settings can intercept the probe.
    conn = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class Emulator:
    name: ClassVar[str]
    probe_path: ClassVar[str] = "/"
    child_env_drop: ClassVar[tuple[str, ...]] = ()
    unset: ClassVar[tuple[str, ...]] = ()

    def __init__(self, startup_timeout: float = 30.0, stop_timeout: float = 5.0) -> None:
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.port = 0
        self.startup_seconds = 0.0
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def command(self, port: int, workdir: Path) -> list[str]:
        raise NotImplementedError

    def preflight(self) -> None:
        """Raise EmulatorError early when the emulator obviously cannot run."""

    def apply_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in self.unset:
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    def start(self: _E) -> _E:
        self.preflight()
        self._tmp = tempfile.TemporaryDirectory(prefix=f"infrar-{self.name}-")
        workdir = Path(self._tmp.name)
        child_env = {k: v for k, v in os.environ.items() if k not in self.child_env_drop}
        began = time.monotonic()
        try:
            for attempt in range(3):
                port = free_port()
                log_path = workdir / f"{self.name}-{attempt}.log"
                cmd = self.command(port, workdir)
                with log_path.open("wb") as log:
                    self.proc = subprocess.Popen(
                        cmd,
                        cwd=workdir,
                        env=child_env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                problem = self._wait_ready(port, log_path)
                if problem is None:
                    self.port = port
                    self.startup_seconds = time.monotonic() - began
                    return self
                self._kill()
                tail = _tail(log_path)
                # Another process can grab the port between free_port() and the bind.
                if not any(marker in tail.lower() for marker in _PORT_IN_USE):
                    break
            raise EmulatorError(
                f"{self.name} failed to start: {problem}\ncommand: {shlex.join(cmd)}\n"
                f"--- last output ---\n{tail}"
            )
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, port: int, log_path: Path) -> str | None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            # Checked after the probe too: a stranger may hold the port while ours failed to bind.
            answered = _answers(port, self.probe_path)
            if self.proc.poll() is not None:
                return f"exited with code {self.proc.returncode}"
            if any(m in _tail(log_path).lower() for m in _PORT_IN_USE):
                return f"port {port} already in use"
            if answered:
                return None
            time.sleep(0.05)
        return f"no answer on {HOST}:{port} within {self.startup_timeout:g}s"

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        self._kill()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self: _E) -> _E:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


class MotoS3(Emulator):
    name = "moto"
    # botocore lets these outrank or break the variables in .env (e.g. a missing AWS_PROFILE
    # raises ProfileNotFound even when key variables are set).
    unset = (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL_S3",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    )

    def command(self, port: int, workdir: Path) -> list[str]:
        return [sys.executable, "-m", "moto.server", "--host", HOST, "--port", str(port)]

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


class GcsEmulator(Emulator):
    name = "gcs"
    project = "test-project"
    # storage.Client() goes anonymous under STORAGE_EMULATOR_HOST and never reads this file, but
    # google.auth.default() (signing, other clients) would.
    unset = ("GOOGLE_APPLICATION_CREDENTIALS",)

    def command(self, port: int, workdir: Path) -> list[str]:
        server = [sys.executable, "-m", "gcp_storage_emulator", "start", "--in-memory", "--quiet"]
        return [*server, "--host", HOST, "--port", str(port)]

    @property
    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.endpoint, "GOOGLE_CLOUD_PROJECT": self.project}


def gcs_signing_credentials(
    email: str = "signer@test-project.iam.gserviceaccount.com",
) -> Credentials:
    """Offline service-account credentials that can sign URLs (throwaway RSA key).

    Pass them as ``blob.generate_signed_url(credentials=...)`` only: a Client built with them
    would try to fetch an OAuth token from Google on its first request.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info: dict[str, Any] = {
        "type": "service_account",
        "project_id": GcsEmulator.project,
        "private_key_id": "0",
        "private_key": pem,
        "client_email": email,
        "client_id": "0",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    credentials: Credentials = service_account.Credentials.from_service_account_info(info)
    return credentials


class _Azurite(Emulator):
    """One of Azurite's services (`service`: blob, queue or table), on a port of its own."""

    service: ClassVar[str]
    binary: ClassVar[Path]
    account_name = AZURITE_ACCOUNT
    account_key = AZURITE_KEY
    # Either would replace the well-known devstoreaccount1 account or its in-memory database.
    child_env_drop = ("AZURITE_ACCOUNTS", "AZURITE_DB")

    def preflight(self) -> None:
        if not self.binary.exists():
            raise EmulatorError(
                f"azurite is not installed ({self.binary.relative_to(TESTS_DIR.parent)} "
                "missing); run tests/install-emulators.sh"
            )
        if shutil.which("node") is None:
            raise EmulatorError("azurite needs `node` on PATH")

    def command(self, port: int, workdir: Path) -> list[str]:
        flags = ["--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry"]
        where = [f"--{self.service}Host", HOST, f"--{self.service}Port", str(port),
                 "--location", str(workdir)]
        return [str(self.binary), *where, *flags]

    @property
    def service_endpoint(self) -> str:
        return f"{self.endpoint}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};"
            f"{self.service.capitalize()}Endpoint={self.service_endpoint};"
        )

    @property
    def env(self) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}


class AzuriteBlob(_Azurite):
    name = "azurite"
    probe_path = f"/{AZURITE_ACCOUNT}?comp=list"
    service = "blob"
    binary = AZURITE_BIN

    @property
    def blob_endpoint(self) -> str:
        return self.service_endpoint


AZURITE_QUEUE_BIN = TESTS_DIR / "node_modules" / ".bin" / "azurite-queue"


class AzuriteQueue(_Azurite):
    """Azurite's Queue service, on a port of its own."""

    name = "azurite-queue"
    probe_path = f"/{AZURITE_ACCOUNT}?comp=list"
    service = "queue"
    binary = AZURITE_QUEUE_BIN

    @property
    def queue_endpoint(self) -> str:
        return self.service_endpoint


def pubsub_emulator_script() -> Path | None:
    """The Cloud SDK's Pub/Sub emulator (apt package google-cloud-cli-pubsub-emulator), or the
    script INFRAR_PUBSUB_EMULATOR names. It runs offline; it needs Java."""
    named = os.environ.get("INFRAR_PUBSUB_EMULATOR")
    if named:
        return Path(named)
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    sdk = Path(gcloud).resolve().parents[1]
    script = sdk / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
    return script if script.is_file() else None


class PubSubEmulator(Emulator):
    name = "pubsub"
    project = "test-project"
    # The emulator answers REST on its gRPC port too.
    probe_path = f"/v1/projects/{project}/topics"
    unset = ("GOOGLE_APPLICATION_CREDENTIALS",)

    def __init__(self, startup_timeout: float = 60.0, stop_timeout: float = 5.0) -> None:
        super().__init__(startup_timeout, stop_timeout)  # a JVM on two busy cores starts slowly

    def preflight(self) -> None:
        script = pubsub_emulator_script()
        if script is None or not script.is_file():
            raise EmulatorError("the Pub/Sub emulator is not installed "
                                "(apt-get install google-cloud-cli-pubsub-emulator)")
        if shutil.which("java") is None:
            raise EmulatorError("the Pub/Sub emulator needs `java` on PATH")

    def command(self, port: int, workdir: Path) -> list[str]:
        script = pubsub_emulator_script()
        assert script is not None
        return [str(script), f"--host={HOST}", f"--port={port}"]

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": self.host, "GOOGLE_CLOUD_PROJECT": self.project}


AZURITE_TABLE_BIN = TESTS_DIR / "node_modules" / ".bin" / "azurite-table"


class AzuriteTable(_Azurite):
    """Azurite's Table service, on a port of its own."""

    name = "azurite-table"
    # Any answer will do: without a signature the service says 403.
    probe_path = f"/{AZURITE_ACCOUNT}/Tables"
    service = "table"
    binary = AZURITE_TABLE_BIN

    @property
    def table_endpoint(self) -> str:
        return self.service_endpoint


def firestore_emulator_jar() -> Path | None:
    """The Cloud SDK's Firestore emulator (Debian package google-cloud-cli-firestore-emulator),
    or the jar INFRAR_FIRESTORE_EMULATOR names. It runs offline; it needs Java."""
    named = os.environ.get("INFRAR_FIRESTORE_EMULATOR")
    if named:
        return Path(named)
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    sdk = Path(gcloud).resolve().parents[1]
    jar = sdk / "platform" / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
    return jar if jar.is_file() else None


class FirestoreEmulator(Emulator):
    name = "firestore"
    project = "test-project"
    # The emulator answers "Ok" over HTTP on its gRPC port.
    probe_path = "/"
    unset = ("GOOGLE_APPLICATION_CREDENTIALS", "FIRESTORE_DATABASE")

    def __init__(self, startup_timeout: float = 60.0, stop_timeout: float = 5.0) -> None:
        super().__init__(startup_timeout, stop_timeout)  # a JVM on two busy cores starts slowly

    def preflight(self) -> None:
        jar = firestore_emulator_jar()
        if jar is None or not jar.is_file():
            raise EmulatorError("the Firestore emulator is not installed "
                                "(apt-get install google-cloud-cli-firestore-emulator)")
        if shutil.which("java") is None:
            raise EmulatorError("the Firestore emulator needs `java` on PATH")

    def command(self, port: int, workdir: Path) -> list[str]:
        jar = firestore_emulator_jar()
        assert jar is not None
        # The JVM itself, not the SDK's wrapper script, so that stopping the process stops it.
        main = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
        return ["java", "-Duser.language=en", "-cp", str(jar), main, "start", f"--host={HOST}",
                f"--port={port}"]

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"FIRESTORE_EMULATOR_HOST": self.host, "GOOGLE_CLOUD_PROJECT": self.project}
