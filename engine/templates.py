"""The Jinja2 environments for rule and plugin templates: sandboxed, strict about undefined names.

Jinja2 is imported on first use: commands that never render a template do not pay for it.
Compiling a template costs more than rendering it, and the pre-commit hook compiles the same
rule templates on every commit, so compiled templates are kept in the user's cache folder,
keyed by the template text, the environment's settings and the Python and Jinja2 versions.
"""

from __future__ import annotations

import hashlib
import marshal
import shlex
import sys
from functools import cache
from types import CodeType, TracebackType
from typing import TYPE_CHECKING, Any

from infrar import __version__
from infrar.engine import diskcache
from infrar.engine.diagnostics import EngineError

if TYPE_CHECKING:
    from jinja2 import Environment, Template
    from jinja2.sandbox import ImmutableSandboxedEnvironment

CACHE_KIND = "templates"


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
    return _compile(environment(), text)


def _compile(env: Environment, text: str) -> Template:
    """As `env.from_string(text)`, through the cache. Templates that do not compile are never
    stored, so their errors are raised as usual."""
    key = hashlib.sha256(f"{_fingerprint(env)}\0{text}".encode("utf-8", "surrogatepass"))
    digest = key.hexdigest()
    code = _cached_code(digest)
    if code is None:
        code = env.compile(text)
        diskcache.write(CACHE_KIND, digest, marshal.dumps(code))
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def _cached_code(digest: str) -> CodeType | None:
    stored = diskcache.read(CACHE_KIND, digest)
    if stored is None:
        return None
    try:  # a cache entry must never fail a command
        code = marshal.loads(stored)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


@cache
def _fingerprint(env: Environment) -> str:
    """Everything compiled code depends on, but the template text."""
    import jinja2

    settings = (
        type(env).__module__, type(env).__qualname__, jinja2.__version__, __version__,
        sys.version, sys.implementation.cache_tag, env.block_start_string,
        env.block_end_string, env.variable_start_string, env.variable_end_string,
        env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
        env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks, env.newline_sequence,
        env.keep_trailing_newline, env.optimized, env.autoescape, env.finalize, env.is_async,
        env.undefined, sorted(env.extensions), sorted(env.filters), sorted(env.tests),
    )
    return repr(settings)


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
    return _compile(infra_environment(), text)


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
