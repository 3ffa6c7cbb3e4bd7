"""The YAML parser behind `yamlio.parse_yaml`, apart from it: a document that is in the cache is
read back without importing PyYAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from infrar.engine.yamlio import YamlDocument, YamlError, YamlPath

_STR_TAG = "tag:yaml.org,2002:str"
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)  # PyYAML built with libyaml
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
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(path, line, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    return doc


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
    while stack:
        item, in_flow = stack.pop()
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
    """Nodes to Python values, recording each value's line and refusing duplicate keys."""

    def __init__(self, path: Path, lines: dict[YamlPath, int]) -> None:
        self.path, self.lines = path, lines
        self.constructor = yaml.constructor.SafeConstructor()

    def convert(self, node: yaml.Node, where: YamlPath) -> Any:
        self.lines[where] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node)
                if key in result:
                    raise YamlError(self.path, key_node.start_mark.line + 1,
                                    f"duplicate key {key!r}")
                result[key] = self.convert(value_node, (*where, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*where, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
            return node.value
        return self.constructor.construct_object(node)
