"""Safe YAML loading that remembers the line of every value, for precise error messages.

Parsed documents are kept in the user's cache folder, under a digest of their text and of the
parser's code: the pre-commit hook reads the same configuration and rules on every commit, and
a document read back from the cache needs no PyYAML import. Only documents that parse, and
whose values JSON keeps exactly, are kept; errors always come from the parser.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from infrar.engine import diskcache

YamlPath = tuple[str | int, ...]

CACHE_KIND = "yaml"


class YamlError(Exception):
    def __init__(self, path: Path | str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


@dataclass
class YamlDocument:
    path: Path
    data: Any
    lines: dict[YamlPath, int] = field(default_factory=dict)

    def line_of(self, where: YamlPath) -> int:
        """The line of `where`, or of its nearest ancestor that has one."""
        for end in range(len(where), -1, -1):
            line = self.lines.get(tuple(where[:end]))
            if line is not None:
                return line
        return 1


MAX_BYTES = 1024 * 1024


def load_yaml(path: Path, *, cache: bool = True) -> YamlDocument:
    """`cache=False` for documents that carry code (rules): the cache folder is writable by
    whatever else runs as the user, so what is read back from it must never become code."""
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise YamlError(path, 1, f"larger than {MAX_BYTES:,} bytes; not read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise YamlError(path, line, "not UTF-8 text") from None
    return parse_yaml(text, path, cache=cache)


def parse_yaml(text: str, path: Path, *, cache: bool = True) -> YamlDocument:
    key = _cache_key(text) if cache else None
    cached = _cached(key, path) if key else None
    if cached is not None:
        return cached
    from infrar.engine.yamlparser import parse

    doc = parse(text, path)
    if key:
        _remember(key, doc)
    return doc


@cache
def _parser_digest() -> str | None:
    """Of this module and the parser's: a change to either makes earlier entries unreachable."""
    digest = hashlib.sha256()
    for name in ("yamlio.py", "yamlparser.py"):
        try:
            digest.update(Path(__file__).with_name(name).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


def _cache_key(text: str) -> str | None:
    parser = _parser_digest()
    if parser is None:
        return None
    return hashlib.sha256(f"{parser}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()


def _remember(key: str, doc: YamlDocument) -> None:
    entry = {"data": doc.data, "lines": [[list(where), line] for where, line in doc.lines.items()]}
    try:
        encoded = json.dumps(entry, ensure_ascii=False, allow_nan=False)
        exact = json.loads(encoded) == entry  # not so for dates, or keys that are not strings
        if exact:
            diskcache.write(CACHE_KIND, key, encoded.encode())
    except (TypeError, ValueError):
        pass


def _cached(key: str, path: Path) -> YamlDocument | None:
    stored = diskcache.read(CACHE_KIND, key)
    if stored is None:
        return None
    try:
        entry = json.loads(stored)
        lines = {tuple(where): line for where, line in entry["lines"]}
        return YamlDocument(path=path, data=entry["data"], lines=lines)
    except (ValueError, KeyError, TypeError):
        return None


def format_yaml_path(where: YamlPath) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"
