"""The one Jinja2 environment for rule templates: sandboxed, strict about undefined names."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment


@cache
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters["py"] = repr
    return env


@cache
def compile_template(text: str) -> Template:
    return environment().from_string(text)


def render(text: str, context: dict[str, Any]) -> str:
    return compile_template(text).render(**context)
