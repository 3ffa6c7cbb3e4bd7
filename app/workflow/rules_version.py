"""A fingerprint of everything that decides a transformation's output for one provider."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import infrar
import infrar.engine
from infrar.engine.plugins import get_provider


@cache
def rules_version(provider: str) -> str:
    digest = hashlib.sha256(f"infrar {infrar.__version__}\0".encode())
    roots = [get_provider(provider).root, Path(infrar.__file__).parent,
             Path(infrar.engine.__file__).parent]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".yaml", ".json", ".j2", ".tf"):
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
