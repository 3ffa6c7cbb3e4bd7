"""A rule must hand every argument of its SDK operation to the native code: a template that
leaves one out would make the argument vanish without a word, so validation refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_support import ALL_PROVIDERS, PROVIDERS_DIR, copy_provider

from infrar.engine.infra.catalog import validate_plugin_dir

RULES = "services/storage/{service}/transform/rules.yaml"
SERVICES = {"local": "filesystem", "aws": "s3", "gcp": "gcs", "azure": "blob"}
CONTENT_TYPE = "{% if 'content_type' in given %}, content_type={{ content_type }}{% endif %}"


def _drop_content_type(root: Path, service: str) -> tuple[Path, range]:
    """Remove `content_type` from the upload rule; return the file and the rule's lines."""
    rules = root / RULES.format(service=service)
    lines = rules.read_text().splitlines(keepends=True)
    operations = next(n for n, line in enumerate(lines) if line.startswith("operations:"))
    start = next(n for n in range(operations, len(lines)) if lines[n].startswith("  upload:"))
    end = next(n for n in range(start + 1, len(lines)) if not lines[n].startswith("    "))
    assert any(CONTENT_TYPE in line for line in lines[start:end])
    lines[start:end] = [line.replace(CONTENT_TYPE, "") for line in lines[start:end]]
    rules.write_text("".join(lines))
    return rules, range(start + 1, end + 1)


@pytest.mark.parametrize("name", ALL_PROVIDERS)
def test_a_rule_that_drops_an_argument_is_refused_at_its_line(name: str, tmp_path: Path) -> None:
    rules, where = _drop_content_type(copy_provider(name, tmp_path), SERVICES[name])

    problems = validate_plugin_dir(rules.parents[4])

    dropped = [p for p in problems if "never uses 'content_type'" in p]
    assert len(dropped) == 1, problems
    assert "infrar.storage.upload" in dropped[0]
    path, line = dropped[0].split(": ", 1)[0].rsplit(":", 1)
    assert path == str(rules) and int(line) in where


def test_the_builtin_rules_use_every_argument() -> None:
    for name in ALL_PROVIDERS:
        assert not [p for p in validate_plugin_dir(PROVIDERS_DIR / name) if "never uses" in p]


def test_the_cli_refuses_the_plugin(run, tmp_path: Path) -> None:
    rules, _ = _drop_content_type(copy_provider("local", tmp_path), "filesystem")
    result = run("providers", "validate", str(rules.parents[4]))
    assert result.exit_code == 2
    assert "never uses 'content_type' of infrar.storage.upload" in result.output
