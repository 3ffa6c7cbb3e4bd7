"""Build and push images with buildah: no daemon, argument lists only, output streamed line by
line to a callback, credentials through a private auth file (never on a command line)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infrar.engine.diagnostics import EngineError
from infrar.engine.terraform.redaction import redact

LineCallback = Callable[[str], None]
DEFAULT_TIMEOUT_S = 1800.0
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


class BuildahError(EngineError):
    """buildah is missing, or one of its commands failed; `output` is its text."""

    def __init__(self, message: str, *, output: str = "") -> None:
        self.output = output
        detail = output.strip()[-4000:]
        super().__init__(f"{message}:\n{detail}" if detail else message)


@dataclass(frozen=True)
class RegistryCredentials:
    """A registry login: short-lived, from the provider (see engine/registry_auth.py)."""

    username: str
    password: str


@dataclass(frozen=True)
class Buildah:
    """How buildah is run: its binary, and optionally a storage of its own (root, runroot and
    driver), so a build leaves nothing in the machine's image store."""

    binary: Path
    root: Path | None = None
    runroot: Path | None = None
    storage_driver: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S

    def argv(self, *args: str) -> list[str]:
        options: list[str] = []
        if self.root is not None:
            options += ["--root", str(self.root)]
        if self.runroot is not None:
            options += ["--runroot", str(self.runroot)]
        if self.storage_driver:
            options += ["--storage-driver", self.storage_driver]
        return [str(self.binary), *options, *args]

    def run(self, *args: str, on_line: LineCallback | None = None,
            secrets: tuple[str, ...] = ()) -> str:
        """Run `buildah ARGS`; its stdout and stderr, merged, secrets redacted."""
        return _run(self.argv(*args), command=args[0], timeout=self.timeout, on_line=on_line,
                    secrets=secrets)


def find_buildah(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    found = shutil.which("buildah", path=environ.get("PATH"))
    if found is None:
        raise BuildahError("buildah is not installed; install it (Debian: apt-get install "
                           "buildah) to build service images")
    return Path(found)


@dataclass(frozen=True)
class BuiltImage:
    name: str
    image_id: str


def build(buildah: Buildah, context: Path, *, name: str,
          build_args: Mapping[str, str] | None = None,
          on_line: LineCallback | None = None) -> BuiltImage:
    """Build the Containerfile of `context` into local image `name`. Docker format: OCI image
    configs have no HEALTHCHECK; every registry Infrar pushes to takes both."""
    with tempfile.TemporaryDirectory(prefix="infrar-build-") as scratch:
        iidfile = Path(scratch) / "iid"
        args = ["bud", "--isolation", "chroot", "--format", "docker", "--layers",
                "--file", str(context / "Containerfile"), "--tag", name,
                "--iidfile", str(iidfile)]
        for key, value in sorted((build_args or {}).items()):
            args += ["--build-arg", f"{key}={value}"]
        buildah.run(*args, str(context), on_line=on_line)
        return BuiltImage(name, iidfile.read_text(encoding="utf-8").strip())


def inspect(buildah: Buildah, image: str) -> dict[str, Any]:
    """`buildah inspect` of an image: its config (user, env, healthcheck, cmd) and more."""
    document: dict[str, Any] = json.loads(buildah.run("inspect", "--type", "image", image))
    return document


def push(buildah: Buildah, image: str, repository: str, *, tag: str,
         credentials: RegistryCredentials | None = None,
         on_line: LineCallback | None = None) -> str:
    """Push `image` to `repository` (`host[:port]/path`) as `tag`; returns the reference by
    digest (`repository@sha256:...`) of the manifest the registry now holds. TLS is verified
    except on a loopback registry."""
    host = repository.split("/", 1)[0]
    with tempfile.TemporaryDirectory(prefix="infrar-push-") as scratch:
        digestfile = Path(scratch) / "digest"
        args = ["push", "--digestfile", str(digestfile), "--format", "v2s2"]
        if _is_loopback(host):
            args.append("--tls-verify=false")
        secrets: tuple[str, ...] = ()
        with _authfile(Path(scratch), host, credentials) as authfile:
            if authfile is not None:
                args += ["--authfile", str(authfile)]
                secrets = (credentials.password,) if credentials else ()
            buildah.run(*args, image, f"docker://{repository}:{tag}", on_line=on_line,
                        secrets=secrets)
        digest = digestfile.read_text(encoding="utf-8").strip()
    if not digest.startswith("sha256:"):
        raise BuildahError(f"buildah push wrote no digest for {repository}:{tag}")
    return f"{repository}@{digest}"


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in _LOOPBACK


@contextmanager
def _authfile(folder: Path, host: str,
              credentials: RegistryCredentials | None) -> Iterator[Path | None]:
    if credentials is None:
        yield None
        return
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    path = folder / "auth.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"auths": {host: {"auth": token}}}, handle)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _run(argv: list[str], *, command: str, timeout: float, on_line: LineCallback | None,
         secrets: tuple[str, ...]) -> str:
    lines: list[str] = []
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                   errors="replace")
    except FileNotFoundError:
        raise BuildahError(f"{argv[0]} not found") from None
    # Output is read as it comes; the timer stops a command that never ends.
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    with process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = redact(raw.rstrip("\n"), secrets)
            lines.append(line)
            if on_line is not None:
                on_line(line)
        code = process.wait()
    timed_out = not watchdog.is_alive()
    watchdog.cancel()
    output = "\n".join(lines)
    if timed_out:
        raise BuildahError(f"buildah {command} timed out after {timeout:g}s", output=output)
    if code != 0:
        raise BuildahError(f"buildah {command} failed (exit code {code})", output=output)
    return output
