"""Configuration problems travel as data (engine/diagnostics.py Problem): file, line, YAML path
and message each readable, and their text exactly the `file:line: path: message` users read."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrar.engine.config import ConfigError, load_config
from infrar.engine.diagnostics import Problem


def _problems(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / ".infrar.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def test_schema_problems_carry_their_line_and_yaml_path(tmp_path: Path) -> None:
    error = _problems(tmp_path, "version: 1\nproject: demo\nenvironments:\n  dev:\n"
                                "    provider: 7\n")
    [problem] = error.details
    assert (problem.path, problem.line, problem.where) == (
        str(tmp_path / ".infrar.yaml"), 5, "environments.dev.provider")
    assert error.problems == [str(problem)]
    assert str(problem) == f"{tmp_path / '.infrar.yaml'}:5: environments.dev.provider: " \
                           f"{problem.message}"


@pytest.mark.parametrize(("text", "line", "where", "message"), [
    ("version: 1\nnaming: '{project}-{name}'\n", 2, "naming",
     "uses {project} but no project is set"),
    ("version: 1\nversion: 1\n", 2, "", "duplicate key 'version'"),
    ("", 1, "(document)", "the file is empty; it needs at least `version: 1`"),
])
def test_every_kind_of_problem_is_placed(tmp_path: Path, text: str, line: int, where: str,
                                         message: str) -> None:
    [problem] = _problems(tmp_path, text).details
    assert (problem.line, problem.where, problem.message) == (line, where, message)


@pytest.mark.parametrize("text", ["a/.infrar.yaml:3: environments: bad: value", "no place",
                                  "C:\\x\\.infrar.yaml:12: (document): too big"])
def test_problems_given_as_text_keep_their_text(text: str) -> None:
    problem = Problem.from_text(text)
    assert str(problem) == text == ConfigError([text]).problems[0]
    assert ConfigError([text]).details == (problem,)
