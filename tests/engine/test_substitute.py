"""Argument source goes into rule templates with parentheses exactly where precedence needs them.

Built-in rules only put arguments in call-argument positions; plugin rules may put them anywhere,
so every template position is checked against every kind of argument expression.
"""

from __future__ import annotations

import ast

import pytest

from infrar.engine.transform import _substitute

TEMPLATES = [
    "helper(@A, @B)",
    "helper(@A, key=@B)",
    "helper(key=@A, other=@B)",
    "client.get(Bucket=@A)[@B]",
    "@A.encode(@B)",
    "@A[@B]",
    "@A + @B * 2",
    "-@A if @B else None",
    "not @A or @B",
    "[@A, @B]",
    "{@A: @B}",
    "(@A, @B)",
    "await @A(@B)",
    "helper(*[@A], **{'k': @B})",
    "lambda: @A(@B)",
    "f'{@A}{@B!r}'",
]
# As `ast` positions give them: without the parentheses that surrounded them in the call.
ARGUMENTS = [
    "name",
    "'literal'",
    "config['bucket']",
    "f'{user}/{key}'",
    "make(key)",
    "a if b else c",
    "(k := 'walrus')",
    "k := 'walrus'",
    "yield",
    "yield from gen()",
    "a or b",
    "not a",
    "a + b",
    "lambda: 1",
    "await fetch()",
    "'a'\n    'b'",
    "-a ** b",
    "a < b < c",
]


def placeholders(template: str) -> str:
    return template.replace("@A", "__infrar_arg_a__").replace("@B", "__infrar_arg_b__")


def _applicable(template: str, argument: str) -> bool:
    # Before Python 3.12 a quote or newline cannot stand inside a single-quoted f-string.
    return not (template.startswith("f'") and ("'" in argument or "\n" in argument))


@pytest.mark.parametrize(
    ("template", "argument"),
    [(t, a) for t in TEMPLATES for a in ARGUMENTS if _applicable(t, a)],
)
def test_parentheses_keep_meaning(template: str, argument: str) -> None:
    assert "@A" in template and "@B" in template
    rendered = _substitute(placeholders(template), {"a": argument, "b": "other"}, "op")
    reference = template.replace("@A", f"({argument})").replace("@B", "(other)")
    assert ast.dump(ast.parse(rendered, mode="eval")) == ast.dump(
        ast.parse(f"({reference})", mode="eval"))


def test_atomic_arguments_are_not_wrapped() -> None:
    for argument in ("name", "config['bucket']", "make(key)", "'literal'", "obj.attr"):
        assert _substitute("__infrar_arg_a__.encode()", {"a": argument}, "op") == \
            f"{argument}.encode()"


def test_call_arguments_stay_as_written() -> None:
    rendered = _substitute("helper(__infrar_arg_a__, k=__infrar_arg_b__)",
                           {"a": "a if b else c", "b": "x or y"}, "op")
    assert rendered == "helper(a if b else c, k=x or y)"
