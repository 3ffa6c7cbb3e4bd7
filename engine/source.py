"""Reading user source safely, and mapping `ast` positions to byte offsets."""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass, field

from infrar.engine.diagnostics import Diagnostic

MAX_SOURCE_BYTES = 1_000_000
MARKER = b"infrar"
"""Files without these bytes cannot use the SDK and are never parsed."""
BOM = b"\xef\xbb\xbf"
TOO_COMPLEX = ("an expression or block is nested too deeply to analyse; split it into smaller "
               "parts")
# Python's tokenizer ends a line at \r\n, \n or a lone \r; `ast` line numbers count all three.
_NEWLINE = re.compile(rb"\r\n?|\n")


def mentions(data: bytes, markers: tuple[bytes, ...] = (MARKER,)) -> bool:
    """Whether `data` may spell one of `markers` as Python reads identifiers: Python folds
    them to NFKC, so `ｉnfrar` (a fullwidth letter) imports `infrar` too."""
    if any(marker in data for marker in markers):
        return True
    if data.isascii():
        return False
    import unicodedata

    text = unicodedata.normalize("NFKC", data.decode("utf-8", "replace"))
    return any(marker.decode() in text for marker in markers)


class SourceError(Exception):
    def __init__(self, line: int, col: int, code: str, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.code, self.message = line, col, code, message


@dataclass
class Source:
    """A module's bytes and text, with the byte offset of every line start."""

    data: bytes
    text: str
    line_starts: list[int] = field(default_factory=list)

    @staticmethod
    def decode(data: bytes) -> Source:
        if len(data) > MAX_SOURCE_BYTES:
            raise SourceError(1, 1, "too-large", f"file is larger than {MAX_SOURCE_BYTES} bytes; "
                              "a module this large is not analysed")
        starts = find_line_starts(data)
        if data.startswith(BOM):
            # `ast` leaves a BOM out of line 1's columns, so line 1 starts after it.
            starts[0] = len(BOM)
        if b"\0" in data:
            line, col = _location(data, starts, data.index(b"\0"))
            raise SourceError(line, col, "binary", "file contains a NUL byte; not Python source")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = _location(data, starts, exc.start)
            raise SourceError(line, col, "not-utf8", "file is not valid UTF-8") from None
        return Source(data, text.removeprefix("\ufeff"), starts)

    @property
    def newline(self) -> str:
        """The file's line ending, for the lines the engine adds."""
        match = _NEWLINE.search(self.data)
        return match.group().decode() if match else "\n"

    def parse(self, filename: str) -> ast.Module:
        # Parsing text rather than bytes: syntax errors then carry character columns, and a
        # coding cookie cannot make `ast` offsets disagree with the UTF-8 bytes we splice.
        try:
            return ast.parse(self.text, filename=filename, type_comments=False)
        except SyntaxError as exc:
            raise SourceError(exc.lineno or 1, exc.offset or 1, "syntax-error",
                              f"syntax error: {exc.msg}") from None
        except (RecursionError, MemoryError):
            raise SourceError(1, 1, "too-complex", TOO_COMPLEX) from None

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def column(self, line: int, byte_col: int) -> int:
        """1-based character column of a byte column."""
        start = self.line_starts[line - 1]
        return len(self.data[start : start + byte_col].decode("utf-8", "replace")) + 1

    def diagnostic(self, path: str, node: ast.AST, code: str, message: str) -> Diagnostic:
        """A diagnostic at `node`, with a 1-based character column."""
        line = getattr(node, "lineno", 1)
        return Diagnostic(path, line, self.column(line, getattr(node, "col_offset", 0)), code,
                          message)

    def line_end(self, offset: int) -> int:
        """Offset just past the newline ending the line that holds `offset`."""
        newline = _NEWLINE.search(self.data, offset)
        return len(self.data) if newline is None else newline.end()


def find_line_starts(data: bytes) -> list[int]:
    """Byte offset of the start of every line."""
    return [0, *(m.end() for m in _NEWLINE.finditer(data))]


def _location(data: bytes, starts: list[int], offset: int) -> tuple[int, int]:
    """1-based line and character column of a byte offset, in bytes that may not decode."""
    line = bisect.bisect_right(starts, offset)
    prefix = data[starts[line - 1]:offset]
    return line, len(prefix.decode("utf-8", "replace")) + 1
