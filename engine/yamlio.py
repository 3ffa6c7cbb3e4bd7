"""Safe YAML loading that remembers the line of every value, for precise error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

YamlPath = tuple[str | int, ...]


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


def load_yaml(path: Path) -> YamlDocument:
    text = path.read_text(encoding="utf-8")
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(path, line, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    doc = YamlDocument(path=path, data=None)
    if node is not None:
        doc.data = _convert(node, (), doc.lines, path)
    return doc


def _convert(node: yaml.Node, where: YamlPath, lines: dict[YamlPath, int], path: Path) -> Any:
    lines[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in result:
                raise YamlError(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _convert(value_node, (*where, key), lines, path)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*where, i), lines, path) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node)  # type: ignore[no-untyped-call]


def format_yaml_path(where: YamlPath) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"
