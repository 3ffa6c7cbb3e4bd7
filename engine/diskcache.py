"""Small results remembered between runs, under the user's cache folder.

An entry is a file named by a digest (the caller's) of everything its content depends on. The
file holds that digest and a checksum of the content before the content itself: an entry that
is missing, unreadable, truncated or altered counts as absent. Nothing here may fail a
command: a cache folder that cannot be written is simply not used. Each kind of entry keeps
only its most recently used entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

APP = "infrar"
LIMIT = 512  # entries of one kind; the hook of one project uses about 50


def cache_root() -> Path | None:
    """$XDG_CACHE_HOME/infrar, else ~/.cache/infrar; None when there is no home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(base):  # the XDG spec says to ignore relative values
        return Path(base) / APP
    try:
        return Path.home() / ".cache" / APP
    except RuntimeError:
        return None


def _entry(kind: str, digest: str) -> Path | None:
    root = cache_root()
    return root / kind / digest if root is not None else None


def _header(digest: str, content: bytes) -> bytes:
    return f"{digest}\n{hashlib.sha256(content).hexdigest()}\n".encode()


def read(kind: str, digest: str) -> bytes | None:
    """The content stored under `digest`, or None."""
    path = _entry(kind, digest)
    if path is None:
        return None
    try:
        stored = path.read_bytes()
    except OSError:
        return None
    content = stored.split(b"\n", 2)[-1]
    if stored != _header(digest, content) + content:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used: kept when the kind is pruned
    return content


def write(kind: str, digest: str, content: bytes = b"") -> None:
    path = _entry(kind, digest)
    if path is None:
        return
    # Written aside then renamed: a concurrent reader sees the whole entry or none.
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        aside.write_bytes(_header(digest, content) + content)
        os.replace(aside, path)
    except OSError:
        with contextlib.suppress(OSError):
            aside.unlink()
    if digest.startswith("00"):  # digests are hex SHA-256: about one write in 256
        prune(path.parent)


def prune(folder: Path) -> None:
    """Keep the LIMIT most recently used entries of `folder`."""
    with contextlib.suppress(OSError):
        entries = sorted(os.scandir(folder), key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for entry in entries[LIMIT:]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
