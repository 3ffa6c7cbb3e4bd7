"""The project every face transforms, and how to read back the provider trees they wrote."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

Deliver = Callable[[str, dict[str, Any]], None]
"""Runs one webhook delivery (event, payload) through the App."""

CONFIGS = {
    # Both environments on one provider: one tree serves them both. No `paths:`: the whole
    # repository is source, but for the output folders.
    "one-provider": """\
version: 1
project: photos
provider: local
output: generated
environments:
  staging:
    provider: local
  production:
    provider: local
    apply_on_merge: true
""",
    # An environment per provider: a tree each.
    "two-providers": """\
version: 1
project: photos
paths: [src]
output: generated
environments:
  staging:
    provider: local
  production:
    provider: aws
    region: eu-west-1
""",
}

SOURCES = {
    "README.md": "# photos\n",
    "src/main.py": '''\
"""Entry point: store a photo, then read its thumbnail."""
import sys

from photos.reports import publish
from photos.store import save, thumbnail
from util import label


def main(key: str) -> None:
    save(key, b"0123456789abcdefghijklmnopqrstuvwxyz")
    publish(f"{key}.txt", label(key, thumbnail(key)))
    print(label(key, thumbnail(key)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cat.jpg")
''',
    "src/util.py": '''\
"""No SDK here: copied as it is."""


def label(key: str, data: bytes) -> str:
    return f"{key}: {len(data)} bytes"
''',
    "src/photos/__init__.py": "",
    "src/photos/buckets.py": '''\
"""Bucket names, in one place."""

UPLOADS = "uploads"
THUMBS = "thumbs"
''',
    "src/photos/store.py": '''\
"""Uploads and their thumbnails."""
from infrar.storage import ObjectNotFoundError, read, write

from .buckets import THUMBS, UPLOADS


def save(key: str, data: bytes) -> None:
    write(UPLOADS, key, data, content_type="image/jpeg")


def thumbnail(key: str) -> bytes:
    try:
        return read(THUMBS, key)
    except ObjectNotFoundError:
        small = read(UPLOADS, key)[:16]
        write(THUMBS, key, small)
        return small
''',
    "src/photos/reports.py": '''\
"""Daily reports."""
import infrar.storage as storage

REPORTS = "reports"


def publish(name: str, text: str) -> None:
    storage.write(REPORTS, name, text.encode())
''',
}


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())


def read_tree(folder: Path) -> dict[str, bytes]:
    """Relative POSIX path -> bytes of every file under `folder`."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_git_tree(bare: Path, ref: str, under: str) -> dict[str, bytes]:
    """The same, for a folder of a commit in a git repository: the bytes as committed."""
    names = subprocess.run(["git", "ls-tree", "-r", "-z", "--name-only", ref, "--", under],
                           cwd=bare, check=True, capture_output=True).stdout
    tree = {}
    for name in filter(None, names.decode().split("\0")):
        blob = subprocess.run(["git", "cat-file", "blob", f"{ref}:{name}"], cwd=bare,
                              check=True, capture_output=True).stdout
        tree[name.removeprefix(under.rstrip("/") + "/")] = blob
    return tree
