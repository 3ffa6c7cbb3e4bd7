"""Check-run annotations from the engine's data: an invalid `.infrar.yaml` is marked on the line
and in the file of each problem, read from the problem itself, not from its text."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from infrar.app.workflow.checks import annotations_for_config
from infrar.engine.config import ConfigError, load_config


def test_config_problems_are_annotated_on_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "services" / "api" / ".infrar.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("version: 1\nproject: api\nnaming: 7\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    details = [dataclasses.replace(p, path=Path(p.path).relative_to(tmp_path).as_posix())
               for p in caught.value.details]
    [annotation] = annotations_for_config(details)
    assert (annotation.path, annotation.start_line, annotation.end_line) == (
        "services/api/.infrar.yaml", 3, 3)
    assert annotation.message.startswith("naming: ") and annotation.level == "failure"


def test_a_problem_of_no_configuration_file_goes_on_the_root_one() -> None:
    [annotation] = annotations_for_config(ConfigError(["the repository has too many"]).details)
    assert (annotation.path, annotation.start_line) == (".infrar.yaml", 1)
    assert annotation.message == "the repository has too many"
