"""A base image made from Debian packages, for image builds where no registry of base images
can be reached, and wheels of installed pure-Python distributions, for builds with no index.

The base is made with mmdebstrap from Debian's archive once, then kept as a tarball under the
user's cache folder, named by what made it (suite, packages, mirror), and imported into each
test run's own buildah storage.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

from infrar.engine.buildah import Buildah

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "passwd")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CACHE_FORMAT = 1
_NOT_IN_WHEELS = ("/RECORD", "/INSTALLER", "/REQUESTED", "/direct_url.json")


@dataclass(frozen=True)
class BaseTarball:
    path: Path
    key: str
    made_in_s: float | None
    """Seconds mmdebstrap took, or None when the tarball came from the cache."""


def cache_folder() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "infrar-test-base"


def base_key(mirror: str) -> str:
    inputs = f"{CACHE_FORMAT}\n{SUITE}\n{','.join(PACKAGES)}\n{mirror}\n"
    return hashlib.sha256(inputs.encode()).hexdigest()[:16]


def base_tarball(mirror: str | None = None) -> BaseTarball:
    """The cached tarball of the base's root filesystem, made on first use."""
    mirror = mirror or os.environ.get("INFRAR_TEST_DEBIAN_MIRROR") or DEFAULT_MIRROR
    key = base_key(mirror)
    path = cache_folder() / f"{SUITE}-{key}.tar"
    if path.is_file():
        return BaseTarball(path, key, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Written beside the cache, then renamed: a run stopped half-way leaves no broken tarball.
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        partial = Path(scratch) / path.name
        subprocess.run(["mmdebstrap", "--quiet", "--mode=root", "--variant=apt",
                        f"--include={','.join(PACKAGES)}", SUITE, str(partial), mirror],
                       check=True, stdin=subprocess.DEVNULL, capture_output=True)
        partial.replace(path)
    return BaseTarball(path, key, time.monotonic() - started)


def import_base(buildah: Buildah, tarball: BaseTarball) -> str:
    """The tarball as an image in `buildah`'s storage; returns its name."""
    name = f"localhost/infrar-test-base:{tarball.key}"
    container = buildah.run("from", "--quiet", "scratch").strip().splitlines()[-1]
    try:
        buildah.run("add", "--quiet", container, str(tarball.path), "/")
        buildah.run("config", "--cmd", '["python3"]', container)
        buildah.run("commit", "--quiet", "--format", "docker", container, name)
    finally:
        buildah.run("rm", container)
    return name


def wheel_of_installed(name: str, folder: Path) -> Path:
    """A wheel of the installed pure-Python distribution `name`, from its installed files: an
    image build installs it with no index, the same version the tests run with."""
    dist = distribution(name)
    version = dist.version
    normal = dist.metadata["Name"].replace("-", "_")
    info = f"{normal}-{version}.dist-info"
    wheel_path = folder / f"{normal}-{version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    records: list[tuple[str, str, str]] = []
    with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in dist.files or []:
            relative = file.as_posix()
            # Scripts outside site-packages (pip makes them again) and install records are
            # not part of a wheel.
            if relative.startswith("..") or "__pycache__" in relative \
                    or relative.endswith(_NOT_IN_WHEELS):
                continue
            data = Path(str(file.locate())).read_bytes()
            wheel.writestr(relative, data)
            records.append((relative, _record_hash(data), str(len(data))))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([*records, (f"{info}/RECORD", "", "")])
        wheel.writestr(f"{info}/RECORD", out.getvalue())
    return wheel_path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def remove_storage(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
