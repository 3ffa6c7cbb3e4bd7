"""YAML that would never finish, or finish with a traceback, gets a clear error with its line
instead, in every command that reads configuration or plugins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infrar.engine.config import ConfigError, load_config
from infrar.engine.yamlio import MAX_BYTES, YamlError, load_yaml

LAUGHS = "a: &a [" + ", ".join(["lol"] * 9) + "]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True))


@pytest.mark.parametrize(("text", "line", "message"), [
    ("paths: &a [*a]\n", 1, "an alias refers to a value that contains it"),
    ("version: 1\nx: &m {k: *m}\n", 2, "an alias refers to a value that contains it"),
    (LAUGHS, 1, "more than 100,000 values"),
    ("version: 1\n? [a, b]\n: 1\n", 2, "a key must be a plain value"),
    ("version: 1\nx: " + "[" * 70 + "]" * 70 + "\n", 2, "nested more than"),
    ("version: 1\nx: " + "[" * 1000 + "]" * 1000 + "\n", 2, "nested more than 64 levels"),
    ("version: 1\ncreated: 2024-02-30\n", 2, "not a valid timestamp: '2024-02-30'"),
    ("version: 1\nx: !!bool maybe\n", 2, "not a valid bool: 'maybe'"),
    ("version: 1\r\nproject: \x10\r\n", 2, "unacceptable character #x0010"),
])
def test_hostile_yaml_is_refused_with_its_line(tmp_path: Path, text: str, line: int,
                                               message: str) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    with pytest.raises(YamlError) as error:
        load_yaml(path)
    assert error.value.line == line
    assert message in error.value.message


def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * (MAX_BYTES // 10 + 1))
    with pytest.raises(YamlError, match="larger than"):
        load_yaml(path)


def test_a_name_with_a_trailing_newline_is_refused_by_the_schema(tmp_path: Path) -> None:
    path = tmp_path / ".infrar.yaml"
    path.write_text('version: 1\nproject: "photo\\n"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert any(":2: project:" in p for p in error.value.problems), error.value.problems


def test_the_check_hook_answers_an_alias_loop_at_once(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".infrar.yaml").write_text("paths: &a [*a]\n")
    (tmp_path / "app.py").write_text("from infrar.storage import read\n")
    check = Path(sys.executable).with_name("infrar-check")
    done = subprocess.run([str(check), "app.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert ".infrar.yaml:1: an alias refers to a value that contains it" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_top_level_key_is_reported_at_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / ".infrar.yaml"
    path.write_text("version: 1\nproject: photo\nfoo: 1\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert [p.split(": ", 1)[0] for p in error.value.problems] == [f"{path}:3"]
    assert "'foo' was unexpected" in error.value.problems[0]
