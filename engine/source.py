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


# PEP 263: `coding[:=]name` in a comment on line 1, or on line 2 after a blank or comment line.
_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:[ \t\f]*(?:#[^\r\n]*)?(?:\r\n?|\n))??"
                          rb"[ \t\f]*#[^\r\n]*?coding[:=][ \t]*([-\w.]+)")
_UTF8 = ("utf-8", "utf-8-sig")
_QUADRATIC = ("punycode",)
"""Text codecs whose decoding time grows with the square of the input: never run on a file."""


def mentions(data: bytes, markers: tuple[bytes, ...] = (MARKER,)) -> bool:
    """Whether `data` may spell one of `markers` as Python reads identifiers: Python folds
    them to NFKC, so `ｉnfrar` (a fullwidth letter) imports `infrar` too; and Python reads the
    file in the encoding it declares, so `# coding: utf-7` can spell `infrar` as `+AGk-nfrar`."""
    if any(marker in data for marker in markers):
        return True
    declared = declared_encoding(data)
    codec = _text_codec(declared[1]) if declared else None
    if data.isascii() and codec in (None, *_UTF8):
        return False
    import unicodedata

    readings = [data.decode("utf-8", "replace")]
    if codec not in (None, *_UTF8):
        if codec in _QUADRATIC:
            return True  # analysed, and refused there: see Source.decode
        try:
            readings.append(data.decode(codec, "replace"))
        except (UnicodeError, LookupError):
            return True
    texts = [unicodedata.normalize("NFKC", text) for text in readings]
    return any(marker.decode() in text for marker in markers for text in texts)


def declared_encoding(data: bytes) -> tuple[int, str] | None:
    """The line of a PEP 263 encoding declaration and the name it gives, as written."""
    match = _DECLARATION.match(data)
    if match is None:
        return None
    line = 1 + len(_NEWLINE.findall(data, 0, match.start(1)))
    return line, match.group(1).decode("ascii")


def _text_codec(name: str) -> str | None:
    """The normalised name of the text codec `name` names, or None when Python reads no source
    in it (unknown, or a bytes-to-bytes codec such as base64)."""
    import codecs

    try:
        b"#".decode(name)  # not empty: Python decodes b"" without looking the codec up
    except LookupError:
        return None
    except UnicodeError:
        pass
    return codecs.lookup(name).name


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
        _check_declared(data, text, starts)
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


def _check_declared(data: bytes, text: str, starts: list[int]) -> None:
    """Refuse a file whose declared encoding makes Python read other text than its UTF-8:
    the engine would analyse and rewrite code that is not the code Python runs."""
    declared = declared_encoding(data)
    if declared is None:
        return
    line, name = declared
    codec = _text_codec(name)
    if codec in _UTF8:
        return
    if codec is None:
        raise SourceError(line, 1, "not-utf8", f"file declares the encoding {name!r}, in which "
                          "Python reads no source; only UTF-8 source is analysed")
    if codec in _QUADRATIC:
        raise SourceError(line, 1, "not-utf8", f"file declares the {codec} encoding, too slow to "
                          "read; only UTF-8 source is analysed")
    try:
        if data.decode(codec) == text:
            return  # ASCII under a `latin-1` declaration, say: the same text
    except UnicodeDecodeError as exc:
        line, col = _location(data, starts, exc.start)
        raise SourceError(line, col, "not-utf8",
                          f"file is not valid {codec}, the encoding it declares") from None
    except UnicodeError:
        pass
    raise SourceError(line, 1, "not-utf8", f"file declares the {codec} encoding, in which Python "
                      "reads other text than its UTF-8; only UTF-8 source is analysed: save it "
                      "as UTF-8 and drop the declaration")


def find_line_starts(data: bytes) -> list[int]:
    """Byte offset of the start of every line."""
    return [0, *(m.end() for m in _NEWLINE.finditer(data))]


def _location(data: bytes, starts: list[int], offset: int) -> tuple[int, int]:
    """1-based line and character column of a byte offset, in bytes that may not decode."""
    line = bisect.bisect_right(starts, offset)
    prefix = data[starts[line - 1]:offset]
    return line, len(prefix.decode("utf-8", "replace")) + 1
