"""Reading user source safely, and mapping `ast` positions to byte offsets."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

MAX_SOURCE_BYTES = 5_000_000


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
            raise SourceError(1, 1, "too-large", f"file is larger than {MAX_SOURCE_BYTES} bytes")
        if b"\0" in data:
            line = data.count(b"\n", 0, data.index(b"\0")) + 1
            raise SourceError(line, 1, "binary", "file contains a NUL byte; not Python source")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise SourceError(line, col, "not-utf8", "file is not valid UTF-8") from None
        starts = [0]
        position = data.find(b"\n")
        while position != -1:
            starts.append(position + 1)
            position = data.find(b"\n", position + 1)
        return Source(data, text.removeprefix("\ufeff"), starts)

    def parse(self, filename: str) -> ast.Module:
        try:
            return ast.parse(self.data, filename=filename, type_comments=False)
        except SyntaxError as exc:
            raise SourceError(exc.lineno or 1, exc.offset or 1, "syntax-error",
                              f"syntax error: {exc.msg}") from None

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

    def line_end(self, offset: int) -> int:
        """Offset just past the newline ending the line that holds `offset`."""
        newline = self.data.find(b"\n", offset)
        return len(self.data) if newline == -1 else newline + 1
