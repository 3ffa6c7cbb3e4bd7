"""The Jinja2 environments for rule and plugin templates: sandboxed, strict about undefined names.

Jinja2 is imported on first use: commands that never render a template do not pay for it.
Compiled templates are kept for the process only: a cache on disk would hold code that
whatever can write the cache folder could change.
"""

from __future__ import annotations

import shlex
from functools import cache
from types import TracebackType
from typing import TYPE_CHECKING, Any

from infrar.engine.diagnostics import EngineError

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import ImmutableSandboxedEnvironment

@cache
def environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters["py"] = python_literal
    return env


def python_literal(value: Any) -> str:
    """`repr`, but strings in double quotes where that needs no escaping, as formatters write."""
    if isinstance(value, str) and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return repr(value)


@cache
def compile_template(text: str) -> Template:
    return environment().from_string(text)


def render(text: str, context: dict[str, Any]) -> str:
    return compile_template(text).render(**context)


class TemplateError(EngineError):
    """A plugin template failed to compile or render; the message starts with file:line."""


@cache
def infra_environment() -> ImmutableSandboxedEnvironment:
    """For Terraform and shell templates: `hcl` and `sh` filters quote values for each language."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from infrar.engine.infra.hcl import inline

    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["hcl"] = lambda value: inline(_defined(value))
    env.filters["sh"] = lambda value: shlex.quote(_defined(value))
    return env


def _defined(value: Any) -> Any:
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # raises the usual "'x' is undefined" error
    return value


@cache
def compile_infra_template(text: str) -> Template:
    return infra_environment().from_string(text)


def render_infra(text: str, context: dict[str, Any], *, source: str) -> str:
    """Render a plugin template; any error names the template file and line."""
    from jinja2 import TemplateSyntaxError

    try:
        template = compile_infra_template(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{source}:{exc.lineno}: template error: {exc.message}") from None
    try:
        return template.render(**context)
    except Exception as exc:  # noqa: BLE001 - any failure inside a plugin template is its author's
        line = _template_line(exc.__traceback__)
        raise TemplateError(f"{source}:{line}: template error: {exc}") from None


def _template_line(tb: TracebackType | None) -> int:
    # Jinja rewrites tracebacks so frames of the template carry the template's own line numbers.
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
