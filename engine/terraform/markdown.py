"""Render a plan summary as Markdown for pull-request comments, and split long comments."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .summary import SYMBOLS, PlanSummary, attribute_text, clean, output_text

GITHUB_COMMENT_LIMIT = 65536
VALUE_LIMIT = 1000
# Left as they are in escaped text; every other ASCII punctuation mark becomes an entity.
_SAFE_PUNCTUATION = frozenset(" .,:/=-")


def escape_html(text: str) -> str:
    """Text safe in Markdown and HTML alike: no markup, no table pipes, no line breaks.

    Numeric entities are never read as Markdown syntax, and GitHub shows them as the character.
    """
    out = []
    for ch in clean(text):
        if ch in "\n\t":
            out.append(" ")
        elif ch.isalnum() or ch in _SAFE_PUNCTUATION or ord(ch) > 0x7F:
            out.append(ch)
        else:
            out.append(f"&#{ord(ch)};")
    return "".join(out)


def code(text: str) -> str:
    # HTML <code>, not backticks: a backtick span cannot hold every string inside a table cell,
    # and GitHub does not turn @names inside <code> into mentions.
    return f"<code>{escape_html(text)}</code>"


def fence(lines: Sequence[str], *, info: str = "") -> list[str]:
    """A fenced block no line can close early: the fence is longer than any backtick run."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    marker = "`" * max(3, longest + 1)
    return [marker + info, *lines, marker]


def render_markdown(
    summary: PlanSummary,
    *,
    title: str,
    cost: str | None = None,
    diagnostics: Sequence[str] = (),
    value_limit: int = VALUE_LIMIT,
) -> str:
    lines = [f"### {escape_html(title)}", "", f"**{escape_html(summary.headline.rstrip('.'))}**"]
    if cost:
        lines += ["", f"Estimated cost: {escape_html(cost)}"]
    if summary.resources:
        lines += ["", "| Action | Resource | Type |", "| --- | --- | --- |"]
        lines += [
            f"| {_action_label(r.action)} | {code(r.address)} | {code(r.type)} |"
            for r in summary.resources
        ]
    if summary.outputs:
        lines += ["", "| Action | Output |", "| --- | --- |"]
        lines += [f"| {_action_label(o.action)} | {code(o.name)} |" for o in summary.outputs]
    diff = _diff_lines(summary, value_limit=value_limit)
    if diff:
        count = len(summary.resources) + len(summary.outputs)
        lines += ["", f"<details><summary>Changes ({count})</summary>", ""]
        lines += fence(diff, info="diff")
        lines += ["", "</details>"]
    if diagnostics:
        lines += ["", "**Diagnostics**"]
        for diagnostic in diagnostics:
            lines += ["", *fence(clean(diagnostic).splitlines() or [""], info="text")]
    return "\n".join(lines) + "\n"


def _action_label(action: str) -> str:
    return escape_html(action)


def _diff_lines(summary: PlanSummary, *, value_limit: int) -> list[str]:
    lines = []
    for r in summary.resources:
        symbol = SYMBOLS.get(r.action, "?")
        lines.append(f"{symbol} {r.address}")
        lines += [
            f"{symbol}     {attribute_text(a, value_limit=value_limit)}" for a in r.attributes
        ]
    for o in summary.outputs:
        lines.append(
            f"{SYMBOLS.get(o.action, '?')} output.{output_text(o, value_limit=value_limit)}"
        )
    return [clean(line) for line in lines]


# --- splitting -----------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_DETAILS_OPEN = re.compile(r"<details[\s>]", re.I)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.I)
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_REOPEN_DETAILS = "<details><summary>(continued)</summary>"
_MAX_REOPEN_LINE = 300


@dataclass(frozen=True)
class _State:
    details: tuple[str, ...] = ()  # the lines that opened each <details> still open
    fence: tuple[str, str] | None = None  # (opening line, marker)
    table: tuple[str, str] | None = None  # (header row, delimiter row)
    previous: str = field(default="", compare=False)


def _advance(state: _State, line: str) -> _State:
    if state.fence is not None:
        marker = state.fence[1]
        closing = rf" {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*"
        return replace(state, fence=None if re.fullmatch(closing, line) else state.fence)
    opening = _FENCE_OPEN.match(line)
    if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
        return replace(state, fence=(line, opening.group(1)), table=None, previous=line)
    details = list(state.details)
    net = len(_DETAILS_OPEN.findall(line)) - len(_DETAILS_CLOSE.findall(line))
    details += [line] * max(net, 0)
    del details[len(details) + min(net, 0) :]
    return _State(tuple(details), None, _table_after(state, line), line)


def _table_after(state: _State, line: str) -> tuple[str, str] | None:
    if state.table is not None and line.lstrip().startswith("|"):
        return state.table
    if state.previous.lstrip().startswith("|") and _TABLE_DELIMITER.match(line):
        return (state.previous, line)
    return None


def _closers(state: _State) -> list[str]:
    lines = [state.fence[1]] if state.fence else []
    for _ in state.details:
        lines += ["", "</details>"]
    return lines


def _reopeners(state: _State) -> list[str]:
    lines = []
    for opened in state.details:
        lines += [opened if len(opened) <= _MAX_REOPEN_LINE else _REOPEN_DETAILS, ""]
    if state.table:
        lines += list(state.table)
    if state.fence:
        opened, marker = state.fence
        lines.append(opened if len(opened) <= _MAX_REOPEN_LINE else marker)
    return lines


def _size(lines: Sequence[str]) -> int:
    return sum(map(len, lines)) + max(len(lines) - 1, 0)


def split_markdown(text: str, limit: int = GITHUB_COMMENT_LIMIT) -> list[str]:
    """Split into parts of at most `limit` characters, each balanced on its own.

    Splits fall between lines; a fence, <details> block or table open at a split is closed at
    the end of one part and reopened at the start of the next. Lines too long to fit are cut.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = -1  # _size(current), kept incrementally
    fresh = 0  # how many lines of `current` are reopeners, not content
    state = _State()
    for line in _bounded_lines(text, max(limit // 4, 1)):
        after = _advance(state, line)
        if len(current) > fresh and size + 1 + len(line) + 1 + _size(_closers(after)) > limit:
            parts.append("\n".join(current + _closers(state)))
            current = _reopeners(state)
            size, fresh = _size(current) if current else -1, len(current)
        if size + 1 + len(line) + 1 + _size(_closers(after)) > limit:
            raise ValueError(f"limit {limit} is too small for the nesting of this Markdown")
        current.append(line)
        size += 1 + len(line)
        state = after
    parts.append("\n".join(current + _closers(state)))
    return parts


def _bounded_lines(text: str, width: int) -> list[str]:
    lines = []
    for line in text.split("\n"):
        lines += [line[i : i + width] for i in range(0, len(line), width)] or [""]
    return lines
