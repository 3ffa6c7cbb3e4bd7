"""Transformations remembered by (file content, provider, naming, rules version).

A pull request that touches one file costs one transformation, however large the repository.
Entries are small JSON files under the data directory; a lost or corrupt entry is recomputed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from infrar.engine.diagnostics import Diagnostic
from infrar.engine.transform import FileResult, Rewrite


class TransformCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(*, data: bytes, path: str, provider: str, naming: str, rules: str) -> str:
        h = hashlib.sha256()
        for part in (rules, provider, naming, path):
            h.update(part.encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
        return h.hexdigest()

    def get(self, key: str, original: bytes) -> FileResult | None:
        try:
            doc = json.loads((self.directory / key[:2] / f"{key}.json").read_text("utf-8"))
            result = _decode(doc, original)
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return result

    def put(self, key: str, result: FileResult) -> None:
        folder = self.directory / key[:2]
        folder.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(_encode(result), handle)
        os.replace(staging, folder / f"{key}.json")


def _encode(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "output": None if result.output is None else base64.b64encode(result.output).decode(),
        "diagnostics": [vars(d) for d in result.diagnostics],
        "requirements": list(result.requirements),
        "rewrites": [vars(r) for r in result.rewrites],
    }


def _decode(doc: dict[str, Any], original: bytes) -> FileResult:
    output = doc["output"]
    return FileResult(
        path=doc["path"], original=original,
        output=None if output is None else base64.b64decode(output),
        diagnostics=[Diagnostic(**d) for d in doc["diagnostics"]],
        requirements=list(doc["requirements"]),
        rewrites=[Rewrite(**r) for r in doc["rewrites"]],
    )
