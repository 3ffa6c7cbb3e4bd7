"""What makes the hook fast must change no result: libyaml reads documents as PyYAML's own parser
does (else that parser reads them), and the caches of valid documents and compiled templates
only ever skip work whose outcome they know."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest

from infrar.engine import diskcache, schema, yamlio, yamlparser
from infrar.engine.templates import (
    TemplateError,
    compile_template,
    python_literal,
    render_infra,
)
from infrar.engine.yamlio import YamlError, parse_yaml

# Documents that libyaml reads differently from PyYAML (a value-less key on another line, or
# accepted where PyYAML refuses them): tabs, a `?` in a flow scalar, a comment glued to a block
# scalar, tags, directives, other line breaks.
DOCUMENTS = [
    "a:\nb: 1\n", "- \n- x\n", "---", "?", "a: [b?c]\n", "a: |#\n  x\n", "a: !!str 1\n",
    "%YAML 1.1\n---\na: 1\n", "a:\tb\n", "a: 1\r\nb: 2\r\n", "a: 1\x85b: 2\n",
    "a: x\u2028b: 1\n", "\ufeffa: 1\n", "a: {b: , c: d}\n", "a: 'x'\nb: \"\"\n",
    "regions:\n  sa-east-1: São Paulo\n", "a: 2024-01-01\nb: 0o17\nc: .inf\n",
]
ERRORS = [
    ("version: 1\nenvironments:\n\tdev:\n    provider: aws\n",
     "c.yaml:3: invalid YAML: found character '\\t' that cannot start any token"),
    ("version: 1\n  bad: indent\n", "c.yaml:2: invalid YAML: mapping values are not allowed here"),
    ("a: [b\n", "c.yaml:2: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    ("a: *x\n", "c.yaml:1: invalid YAML: found undefined alias 'x'"),
    ("a: 1\na: 2\n", "c.yaml:2: duplicate key 'a'"),
    ("a: 1\n<<: {b: 2}\n", "c.yaml:2: invalid YAML: could not determine a constructor for the "
                           "tag 'tag:yaml.org,2002:merge'"),
]


def _python_parser_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlparser, "_FAST_LOADER", None)


def _read(text: str) -> tuple[Any, dict[Any, int]] | str:
    try:
        doc = yamlparser.parse(text, Path("c.yaml"))
    except YamlError as exc:
        return str(exc)
    return doc.data, doc.lines


@pytest.mark.parametrize("text", DOCUMENTS)
def test_values_and_lines_are_those_of_the_python_parser(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _read(text)
    _python_parser_only(monkeypatch)
    assert fast == _read(text)


def test_a_value_less_key_is_on_its_own_line() -> None:
    doc = yamlparser.parse("environments:\n  dev:\n  prod:\n    provider: aws\n", Path("c.yaml"))
    assert doc.line_of(("environments", "dev")) == 2


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(schema, "_known_valid", set())
    return tmp_path / "infrar"


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_keep_the_python_parsers_message_and_line(
        text: str, message: str, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for fast in (True, False, False):  # the last one after a first: errors are not cached
        if not fast:
            _python_parser_only(monkeypatch)
        with pytest.raises(YamlError) as caught:
            parse_yaml(text, Path("c.yaml"))
        assert str(caught.value) == message
    assert not (cache / yamlio.CACHE_KIND).exists()


def _no_parser(text: str, path: Path) -> yamlio.YamlDocument:
    raise AssertionError("parsed again")


def test_a_document_is_read_back_from_the_cache(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "version: 1\nenvironments:\n  dev:\n    apply_requirements: [approved]\n"
    parsed = parse_yaml(text, Path("a.yaml"))
    monkeypatch.setattr(yamlparser, "parse", _no_parser)
    again = parse_yaml(text, Path("b.yaml"))
    assert (again.path, again.data, again.lines) == (Path("b.yaml"), parsed.data, parsed.lines)
    assert again.line_of(("environments", "dev", "apply_requirements", 0)) == 4


@pytest.mark.parametrize("text", ["a: 2024-01-01\n", "1: a\n", "true: a\n", "a: .nan\n",
                                  "a: !!binary aGk=\n"])
def test_values_json_would_change_are_not_cached(text: str, cache: Path) -> None:
    first = parse_yaml(text, Path("c.yaml"))
    assert not (cache / yamlio.CACHE_KIND).exists()
    assert repr(parse_yaml(text, Path("c.yaml")).data) == repr(first.data)


def test_a_change_to_the_parser_leaves_earlier_entries_behind(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parse_yaml("a: 1\n", Path("c.yaml"))
    monkeypatch.setattr(yamlio, "_parser_digest", lambda: "another parser")
    monkeypatch.setattr(yamlparser, "parse", _no_parser)
    with pytest.raises(AssertionError, match="parsed again"):
        parse_yaml("a: 1\n", Path("c.yaml"))


def _no_validation(doc: yamlio.YamlDocument, name: str) -> list[str]:
    raise AssertionError("validated again")


def test_a_valid_document_is_validated_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = parse_yaml("version: 1\nprovider: aws\n", Path("c.yaml"))
    assert schema.schema_errors(doc, "infrar-config") == []
    [entry] = (cache / schema.CACHE_KIND).iterdir()
    monkeypatch.setattr(schema, "_known_valid", set())  # as a new process
    monkeypatch.setattr(schema, "_validate", _no_validation)
    assert schema.schema_errors(doc, "infrar-config") == []
    assert entry.name == schema._validity_key(doc.data, "infrar-config")


def test_a_corrupt_or_foreign_entry_counts_as_absent(cache: Path) -> None:
    doc = parse_yaml("version: 1\nprovider: aws\n", Path("c.yaml"))
    key = schema._validity_key(doc.data, "infrar-config")
    for stored in (b"", b"garbage", f"{key}\n".encode(), f"{key}\n{'0' * 64}\n".encode()):
        (cache / schema.CACHE_KIND).mkdir(parents=True, exist_ok=True)
        (cache / schema.CACHE_KIND / key).write_bytes(stored)
        assert diskcache.read(schema.CACHE_KIND, key) is None
    diskcache.write(schema.CACHE_KIND, key)
    assert diskcache.read(schema.CACHE_KIND, key) == b""


def test_problems_are_never_cached(cache: Path) -> None:
    doc = parse_yaml("version: 1\nprovider: 7\n", Path("c.yaml"))
    for _ in range(2):
        assert schema.schema_errors(doc, "infrar-config") == [
            "c.yaml:2: provider: 7 is not of type 'string'"]
    assert not (cache / schema.CACHE_KIND).exists()
    # Same text, another type: another document.
    quoted = parse_yaml("version: 1\nprovider: '7'\n", Path("c.yaml"))
    assert schema._validity_key(quoted.data, "x") != schema._validity_key(doc.data, "x")


def test_each_kind_keeps_its_most_recently_used_entries(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diskcache, "LIMIT", 3)
    for n in range(5):
        diskcache.write("kind", f"a{n}")
        os.utime(cache / "kind" / f"a{n}", ns=(n * 10**9, n * 10**9))
    assert diskcache.read("kind", "a0") == b""  # used now: the most recent
    diskcache.write("kind", "00f")  # one write in 256 prunes
    assert sorted(p.name for p in (cache / "kind").iterdir()) == ["00f", "a0", "a4"]


def test_an_unwritable_cache_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    diskcache.write("valid", "abc")
    assert diskcache.read("valid", "abc") is None


def test_templates_leave_no_code_in_the_cache(cache: Path) -> None:
    text = "{{ a | py }}-{% for x in b %}{{ x }}{% endfor %}"
    assert compile_template.__wrapped__(text).render(a="x", b=[1, 2]) == '"x"-12'
    with pytest.raises(TemplateError, match=r"^rules.tmpl:2: template error: expected token"):
        render_infra("ok\n{{ x | }}\n", {}, source="rules.tmpl")
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


def test_a_forged_cache_entry_never_becomes_native_code(cache: Path) -> None:
    """Whatever can write the cache folder (an earlier CI step) must not change the code a
    transform writes: rules are always parsed from their file."""
    from infrar.engine.native import capability_source
    from infrar.engine.plugins import load_rules

    rules_file = Path(load_rules("local", "storage").source)
    text = rules_file.read_text(encoding="utf-8")
    forged = yamlio.parse_yaml(text, rules_file, cache=False)
    forged.data["blocks"]["read"]["code"] = "def {{ read }}(bucket, key):\n    return b'forged'\n"
    yamlio._remember(yamlio._cache_key(text) or "", forged)  # as an attacker would plant it
    load_rules.__globals__["_load_rules_file"].cache_clear()
    capability_source.cache_clear()
    assert "forged" not in capability_source("local", "storage")


@pytest.mark.parametrize(("value", "written"), [
    ("x", '"x"'), ("it's", '"it\'s"'), ("café 🚀", '"café 🚀"'), ("", '""'),
    ('say "hi"', "'say \"hi\"'"), ("back\\slash", "'back\\\\slash'"), ("tab\t", "'tab\\t'"),
    ("\ud800", "'\\ud800'"), (None, "None"), (3, "3"), (["a"], "['a']"),
])
def test_the_py_filter_writes_strings_as_formatters_do(value: object, written: str,
                                                      cache: Path) -> None:
    """Double quotes where they need no escaping, else `repr`; always the same value back."""
    assert python_literal(value) == written
    assert ast.literal_eval(written) == value
    assert compile_template.__wrapped__("{{ v | py }}").render(v=value) == written
