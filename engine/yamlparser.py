"""The YAML parser behind `yamlio.parse_yaml`, apart from it: a document that is in the cache is
read back without importing PyYAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from infrar.engine.yamlio import YamlDocument, YamlError, YamlPath

_STR_TAG = "tag:yaml.org,2002:str"
MAX_VALUES = 100_000
MAX_DEPTH = 64
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)  # PyYAML built with libyaml
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # as PyYAML counts lines
# What libyaml reads differently from PyYAML's own parser (found by fuzzing both): tabs, line
# breaks other than \n, BOM, no-break space and control characters; a comment glued to a block
# scalar header; tags; directives. Such documents, and any error, go to PyYAML's parser, whose
# messages and lines are the reference. Separate searches: one alternation is 3 times slower.
_PARSED_APART = (
    re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\xa0\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"),
    re.compile(r"[|>]\S*#"),
    re.compile(r"[\s,\[\]{}]!"),
)


def _parsed_apart(text: str) -> bool:
    return (text.startswith(("!", "%")) or "\n%" in text
            or any(pattern.search(text) for pattern in _PARSED_APART))


def parse(text: str, path: Path) -> YamlDocument:
    """`text` read by PyYAML; libyaml when it reads `text` as PyYAML's own parser does."""
    doc = YamlDocument(path=path, data=None)
    try:
        node = _compose(text)
        if node is not None:  # constructing values fails too, e.g. on a `<<` merge key
            doc.data = _Converter(path, doc.lines).convert(node, ())
    except yaml.reader.ReaderError as exc:  # no mark, and a message of two lines
        line = len(_LINE_BREAK.findall(text, 0, exc.position)) + 1
        raise YamlError(path, line, f"invalid YAML: unacceptable character "
                                    f"#x{exc.character:04x}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(path, line, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except RecursionError:  # PyYAML composes nodes recursively, before MAX_DEPTH is checked
        raise YamlError(path, _too_deep(text), f"nested more than {MAX_DEPTH} levels deep"
                        ) from None
    return doc


def _too_deep(text: str) -> int:
    """The line where `text` first nests deeper than MAX_DEPTH, found from the parser's events,
    which it makes without recursion."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return mark.line + 1 if mark is not None else 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return mark.line + 1 if mark is not None else 1
    return 1


def _compose(text: str) -> yaml.Node | None:
    if _FAST_LOADER is not None and not _parsed_apart(text):
        try:
            node = yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass  # PyYAML's parser below names the problem more precisely
        else:
            if node is None or _read_alike(node):
                return node
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _read_alike(node: yaml.Node) -> bool:
    """Whether PyYAML's parser gives the same nodes: libyaml puts empty values on another line,
    and reads a `?` inside a flow collection's plain scalar where PyYAML refuses it."""
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    seen: set[int] = set()
    while stack:
        item, in_flow = stack.pop()
        if id(item) in seen:  # an alias: its node was looked at already (and may contain itself)
            continue
        seen.add(id(item))
        if isinstance(item, yaml.ScalarNode):
            if item.value == "" or (in_flow and not item.style and "?" in item.value):
                return False
            continue
        assert isinstance(item, yaml.CollectionNode)
        flow = in_flow or bool(item.flow_style)
        if isinstance(item, yaml.MappingNode):
            stack.extend((part, flow) for pair in item.value for part in pair)
        else:
            stack.extend((child, flow) for child in item.value)
    return True


class _Converter:
    """Nodes to Python values, recording each value's line and refusing duplicate keys.

    Bounded: aliases may not contain themselves, nesting stops at MAX_DEPTH and the values
    built, aliases expanded, at MAX_VALUES, so no document makes a command hang."""

    def __init__(self, path: Path, lines: dict[YamlPath, int]) -> None:
        self.path, self.lines = path, lines
        self.constructor = yaml.constructor.SafeConstructor()
        self.values = 0
        self.open: set[int] = set()

    def convert(self, node: yaml.Node, where: YamlPath) -> Any:
        line = node.start_mark.line + 1
        self.values += 1
        if self.values > MAX_VALUES:
            raise YamlError(self.path, line, f"more than {MAX_VALUES:,} values (aliases "
                                             "expanded); the document is too large to read")
        if len(where) > MAX_DEPTH:
            raise YamlError(self.path, line, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.open:
            raise YamlError(self.path, line, "an alias refers to a value that contains it")
        self.lines[where] = line
        if not isinstance(node, yaml.CollectionNode):
            return self.scalar(node)
        self.open.add(id(node))
        try:
            return self._collection(node, where)
        finally:
            self.open.discard(id(node))

    def _collection(self, node: yaml.CollectionNode, where: YamlPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlError(self.path, key_node.start_mark.line + 1,
                                    "a key must be a plain value, not a list or a mapping")
                key = self.scalar(key_node)
                if key in result:
                    raise YamlError(self.path, key_node.start_mark.line + 1,
                                    f"duplicate key {key!r}")
                result[key] = self.convert(value_node, (*where, key))
            return result
        return [self.convert(item, (*where, i)) for i, item in enumerate(node.value)]

    def scalar(self, node: yaml.Node) -> Any:
        if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
            return node.value
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError:
            raise
        except Exception as exc:
            # The constructor lets the errors of int(), float(), datetime() and of its own
            # regexes escape: `2024-02-30`, `!!int abc`, `!!bool maybe`, `!!timestamp x`.
            kind = str(node.tag).rsplit(":", 1)[-1]
            why = f": {exc}" if isinstance(exc, ValueError) else ""
            raise YamlError(self.path, node.start_mark.line + 1,
                            f"not a valid {kind}: {node.value!r}{why}") from None
