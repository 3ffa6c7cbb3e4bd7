"""Working directories `terraform init` prepared, kept to be reused.

Every plan the App makes starts in a fresh folder, so every plan would run `terraform init`,
though one pull request after another asks for the same providers, modules and backend. A
folder's `.terraform/` and lock file are kept under a key of what init read there (the caller
says what that is) and of the Terraform that ran it; a later folder with the same key gets a
copy and skips init.

The key is a shortcut, not the judge: Terraform refuses to plan with a `.terraform/` that does
not fit the configuration (a module not installed, a provider that does not match the lock,
a changed backend), and a caller whose plan fails after a reuse runs init and plans again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from infrar.engine.terraform.binary import TerraformNotFoundError, find_binary
from infrar.engine.terraform.runner import LOCK_FILE

DATA_DIR = ".terraform"
MAX_ENTRIES = 32
STAGING_TIMEOUT_S = 3600
LINK_FROM_BYTES = 1 << 20
"""Files this large (provider binaries) are hard-linked, not copied: Terraform never writes
into them, and copying hundreds of megabytes would cost more than the init it saves."""
_ENVIRONMENT = ("TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR")


def key_of(inputs: Mapping[str, bytes], *, env: Mapping[str, str]) -> str:
    """The key of a folder whose init read `inputs` (relative path -> bytes), run with `env`:
    of that, only which Terraform runs (its path, size and time, so an upgrade in place
    counts) and where its providers come from."""
    merged = {**os.environ, **env}
    digest = hashlib.sha256()
    for name in sorted(inputs):
        digest.update(json.dumps([name, hashlib.sha256(inputs[name]).hexdigest()]).encode())
    digest.update(json.dumps([[k, merged.get(k, "")] for k in _ENVIRONMENT]).encode())
    digest.update(json.dumps(_binary_identity(merged)).encode())
    return digest.hexdigest()


def _binary_identity(env: Mapping[str, str]) -> list[object]:
    try:
        binary = find_binary(env=env).resolve()
        found = binary.stat()
    except (TerraformNotFoundError, OSError):
        return []  # init will say what is wrong
    return [str(binary), found.st_size, found.st_mtime_ns]


class InitCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def restore(self, key: str, workdir: Path) -> bool:
        """Give `workdir` the kept `.terraform/` and lock file of `key`; False if none is kept."""
        entry = self.root / key
        if not (entry / DATA_DIR).is_dir() or not (entry / LOCK_FILE).is_file():
            return False
        shutil.rmtree(workdir / DATA_DIR, ignore_errors=True)
        try:
            shutil.copytree(entry / DATA_DIR, workdir / DATA_DIR, symlinks=True,
                            copy_function=_link_or_copy)
            shutil.copy2(entry / LOCK_FILE, workdir / LOCK_FILE)
        except OSError:  # pruned by another worker meanwhile: init as if never kept
            shutil.rmtree(workdir / DATA_DIR, ignore_errors=True)
            (workdir / LOCK_FILE).unlink(missing_ok=True)
            return False
        os.utime(entry)  # recently used: pruned last
        return True

    def keep(self, key: str, workdir: Path) -> None:
        """Keep what init left in `workdir` under `key` (the first one kept stays)."""
        if (self.root / key).exists() or not (workdir / LOCK_FILE).is_file():
            return
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".keep-", dir=self.root))
        try:
            shutil.copytree(workdir / DATA_DIR, staging / DATA_DIR, symlinks=True,
                            copy_function=_link_or_copy)
            shutil.copy2(workdir / LOCK_FILE, staging / LOCK_FILE)
            staging.rename(self.root / key)
        except OSError:  # another worker kept the same key first
            shutil.rmtree(staging, ignore_errors=True)
            return
        self._prune()

    def forget(self, key: str) -> None:
        """Drop `key`: what it kept did not fit a configuration with its key."""
        shutil.rmtree(self.root / key, ignore_errors=True)

    def _prune(self) -> None:
        now = time.time()
        found = [(p, p.stat().st_mtime) for p in self.root.iterdir()]
        kept = sorted(((p, t) for p, t in found if not p.name.startswith(".")),
                      key=lambda entry: entry[1], reverse=True)
        abandoned = [(p, t) for p, t in found  # left by a worker that died while keeping
                     if p.name.startswith(".keep-") and now - t > STAGING_TIMEOUT_S]
        for stale, _ in kept[MAX_ENTRIES:] + abandoned:
            shutil.rmtree(stale, ignore_errors=True)


def _link_or_copy(source: str, destination: str) -> object:
    if os.path.getsize(source) >= LINK_FROM_BYTES:
        try:
            os.link(source, destination)
            return destination
        except OSError:  # another file system
            pass
    return shutil.copy2(source, destination)
