""".infrar.yaml: validated by a schema, errors as file:line: yaml.path: message; resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrar.engine.config import (
    ConfigError,
    find_config,
    load_config,
    load_project_config,
    resolve_target,
)
from infrar.engine.diagnostics import EngineError


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".infrar.yaml"
    path.write_text(text)
    return path


def test_full_configuration_resolves_per_environment(project) -> None:
    config = load_project_config()
    assert config.path == project.root / ".infrar.yaml" and config.project == "photo-app"
    production = resolve_target(config, environment="production")
    assert (production.provider, production.region) == ("aws", "eu-west-1")
    assert config.environments["production"].apply_on_merge is True
    assert config.environments["production"].apply_requirements == ("approved", "mergeable")
    dev = resolve_target(config, environment="dev")
    assert (dev.provider, dev.region) == ("local", None)
    assert dev.naming.physical("x") == "photo-app-dev-x"
    gcp = resolve_target(config, environment="dev", provider="gcp", region="us-east1")
    assert gcp.provider == "gcp"


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 2\n", ":1: version: 1 was expected"),
    ("project: x\n", ":1: (document): 'version' is a required property"),
    ("version: 1\nproject: Photo App\n", ":2: project: 'Photo App' does not match"),
    ("version: 1\nregion: eu-west-1\nbogus: 1\n", ":3: (document): Additional properties"),
    ("version: 1\nnaming: '{project}-{name.__class__}'\nproject: p\n", ":2: naming:"),
    ("version: 1\nnaming: '{project}-{environment}'\nproject: p\n", ":2: naming:"),
    ("version: 1\nnaming: '{project}-{name}'\n", ":2: naming: uses {project} but no project"),
    ("version: 1\nenvironments:\n  prod:\n    apply_requirements: [approved, reviewed]\n",
     ":4: environments.prod.apply_requirements[1]: 'reviewed' is not one of"),
    ("version: 1\nenvironments:\n  prod:\n    apply_on_merge: 'yes'\n",
     ":4: environments.prod.apply_on_merge: 'yes' is not of type 'boolean'"),
    ("version: 1\nenvironments:\n  ../x:\n    provider: aws\n",
     ":3: environments: '../x' does not match"),
    ("version: 1\nprovider: [aws\n", ":3: invalid YAML"),
    ("version: 1\n  bad: indent\n", ":2: invalid YAML"),
    ("version: 1\nversion: 1\n", ":2: duplicate key 'version'"),
    ("", ":1: (document): the file is empty"),
])
def test_invalid_configuration_reports_file_line_and_path(tmp_path, text, expected) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(p.startswith(str(path)) and expected in p for p in caught.value.problems), \
        caught.value.problems


def test_every_problem_is_reported_at_once(tmp_path) -> None:
    path = _config(tmp_path, "version: 3\nproject: UP\nregion: '!'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in caught.value.problems] == ["1", "2", "3"]


def test_environment_names_are_checked(project) -> None:
    config = load_project_config()
    with pytest.raises(EngineError, match="no environment 'staging'"):
        resolve_target(config, environment="staging")
    with pytest.raises(EngineError, match="lowercase letters"):
        resolve_target(load_project_config(config_file=None, start=Path("/")),
                       environment="../../etc")


def test_without_a_configuration_names_stay_as_written(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    assert find_config(tmp_path) is None
    config = load_project_config(start=tmp_path)
    target = resolve_target(config, fallback_provider="local")
    assert (target.provider, target.environment, target.naming.physical("uploads")) == \
        ("local", "default", "uploads")


def test_default_naming_with_and_without_project(tmp_path) -> None:
    bare = load_config(_config(tmp_path, "version: 1\n"))
    assert resolve_target(bare, environment="qa").naming.physical("b") == "qa-b"
    named = load_config(_config(tmp_path, "version: 1\nproject: shop\n"))
    assert resolve_target(named).naming.physical("b") == "shop-default-b"


def test_cli_reports_configuration_errors(project, run) -> None:
    project.write(".infrar.yaml", "version: 1\nenvironments:\n  dev:\n    region: [x]\n")
    result = run("generate", "-e", "dev", "--out", "out")
    assert result.exit_code == 2
    assert ".infrar.yaml:4: environments.dev.region: ['x'] is not of type 'string'" in result.output


def test_unknown_region_is_refused(project, run) -> None:
    result = run("generate", "-e", "production", "--region", "mars-north-1", "--out", "out")
    assert result.exit_code == 2
    assert "region 'mars-north-1' is not a region of the aws provider" in result.output
