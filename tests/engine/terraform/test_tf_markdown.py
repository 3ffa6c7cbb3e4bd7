"""Markdown rendering and splitting, with hostile values (no Terraform needed)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tf_test_helpers import assert_balanced

from infrar.engine.terraform import (
    AttributeChange,
    OutputChange,
    PlanSummary,
    ResourceChange,
    render_markdown,
    split_markdown,
)

HOSTILE_ADDRESS = 'null_resource.x["a|b`c</details><details>@team *x* [l](http://e)"]'
HOSTILE_VALUE = '"````` </details> <details><summary>x</summary> | |"'


def _summary(address: str = HOSTILE_ADDRESS, value: str = HOSTILE_VALUE) -> PlanSummary:
    resource = ResourceChange(
        address,
        "null_resource",
        "managed",
        ("delete", "create"),
        "replace",
        (AttributeChange("triggers.v", '"old"', value),),
    )
    output = OutputChange("o|`x`", "create", None, value, False)
    return PlanSummary(1, 0, 1, False, (resource,), (output,))


def _table_row(markdown: str, needle: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith("|") and needle in line)


def _outside_fences(markdown: str) -> str:
    kept, fence = [], None
    for line in markdown.split("\n"):
        if fence is None and line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
        elif fence is not None and line == fence:
            fence = None
        elif fence is None:
            kept.append(line)
    return "\n".join(kept)


def test_hostile_values_cannot_break_out() -> None:
    md = render_markdown(
        _summary(), title="plan <img src=x> `dev`", cost="$1 | <b>", diagnostics=["```\n</details>"]
    )
    outside = _outside_fences(md)
    assert outside.count("<details>") == 1 and outside.count("</details>") == 1  # only our own
    row = _table_row(md, "replace")
    assert len(re.findall(r"(?<!\\)\|", row)) == 4  # three cells, no extra pipe
    assert "`" not in row and "@team" not in row and "<img" not in md
    fence_line = next(line for line in md.splitlines() if line.endswith("diff"))
    assert fence_line == "`" * 6 + "diff"  # longer than the value's five backticks
    assert "-/+ null_resource.x" in md
    assert_balanced(md)


def test_markdown_parses_as_intended() -> None:
    import markdown_it
    md = render_markdown(_summary(), title="t", diagnostics=["Error: ```x```"])
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(md)
    fences = [t for t in tokens if t.type == "fence"]
    assert [f.info for f in fences] == ["diff", "text"]
    assert HOSTILE_ADDRESS in fences[0].content and HOSTILE_VALUE in fences[0].content
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 4  # two tables, each a header and one row
    html = "".join(t.content for t in tokens if t.type in ("html_block", "html_inline"))
    assert html.count("<details>") == 1 and html.count("</details>") == 1


safe_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40)


@settings(max_examples=60, deadline=None)
@given(address=safe_text, value=safe_text)
def test_any_address_or_value_stays_inside(address: str, value: str) -> None:
    import markdown_it
    md = render_markdown(_summary(address=address or "x", value=value), title="t")
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(md)
    assert [t.info for t in tokens if t.type == "fence"] == ["diff"]
    assert len([t for t in tokens if t.type == "tr_open"]) == 4
    html = [t.content for t in tokens if t.type in ("html_block", "html_inline")]
    assert "".join(html).count("<details>") == 1


def test_short_text_is_one_part() -> None:
    assert split_markdown("hello\n", limit=100) == ["hello\n"]


def test_split_reopens_fence_details_and_table() -> None:
    table = ["| a | b |", "| --- | --- |"] + [f"| {i} | x |" for i in range(400)]
    body = [f"+ line {i} " + "y" * 40 for i in range(400)]
    text = "\n".join(
        [
            "# t",
            "",
            *table,
            "",
            "<details><summary>S</summary>",
            "",
            "````diff",
            *body,
            "````",
            "",
            "</details>",
            "end",
        ]
    )
    parts = split_markdown(text, limit=2000)
    assert len(parts) > 10
    for part in parts:
        assert len(part) <= 2000
        assert_balanced(part)
    table_parts = [p for p in parts if "| 300 | x |" in p]
    assert table_parts[0].splitlines()[:2] == table[:2]
    mid = next(p for p in parts if "+ line 200 " in p)
    assert mid.startswith("<details><summary>S</summary>\n\n````diff\n")
    content = [line for p in parts for line in p.split("\n") if line.startswith(("+ line", "| 1"))]
    assert len(content) == len(set(content))  # nothing duplicated


def test_split_cuts_overlong_lines_and_rejects_tiny_limits() -> None:
    parts = split_markdown("```\n" + "z" * 5000 + "\n```", limit=1000)
    assert all(len(p) <= 1000 for p in parts) and "".join(parts).count("z") == 5000
    for part in parts:
        assert_balanced(part)
    with pytest.raises(ValueError):
        split_markdown("<details>\n\n" * 50 + "x" * 100, limit=60)
