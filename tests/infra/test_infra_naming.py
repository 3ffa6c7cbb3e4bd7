"""Physical names: one function for Terraform and transformed code; hostile names never emitted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from infra_support import ALL_PROVIDERS, native_names

from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra import hcl
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.generate import generate_paths
from infrar.engine.naming import Naming, NamingRule, hostile_reason, name_problem

HOSTILE = {
    "quote": ('bad"name', "contains a quote"),
    "single-quote": ("bad'name", "contains a quote"),
    "newline": ("bad\nname", "contains a line break"),
    "interpolation": ("a${var.x}", "contains the Terraform interpolation sequence '${'"),
    "directive": ("a%{if true}", "contains the Terraform template directive '%{'"),
    "traversal": ("../etc", "contains a '..' path segment"),
    "slash": ("a/b", "contains a '/'"),
    "backslash": ("a\\b", "contains a backslash"),
    "uppercase": ("Uploads", "must be 3 to 63 lowercase letters"),
    "too-long": ("x" * 70, "characters long; the limit is 63"),
    "empty": ("", "is empty"),
    "control": ("a\x1bb", "contains a control character"),
}


def test_physical_name_is_one_function_of_project_environment_and_name() -> None:
    naming = Naming("{project}-{environment}-{name}", "photo-app", "prod")
    assert naming.physical("uploads") == "photo-app-prod-uploads"
    assert Naming().physical("uploads") == "uploads"
    # The pattern is substituted, never formatted: no attribute access through it.
    assert Naming("{name.__class__}-{name}", None, "x").physical("a") == "{name.__class__}-a"


def test_generated_terraform_and_transformed_code_use_the_same_names(project, run) -> None:
    transformed = run("transform", "-e", "production", "--out", "build", "src")
    assert transformed.exit_code == 0, transformed.output
    generated = run("generate", "-e", "production", "--out", "tf")
    assert generated.exit_code == 0, generated.output
    # Production deploys to aws: its tree alone, serving production alone.
    assert sorted(p.name for p in (project.root / "build").iterdir()) == ["aws"]
    code = (project.root / "build" / "aws" / "app.py").read_text()
    assert "from infrar_native.storage import" in code and "photo-app" not in code
    names = native_names(project.root / "build" / "aws")
    main_tf = (project.root / "tf" / "main.tf").read_text()
    assert sorted(names) == ["production"]
    assert sorted(names["production"]["bucket"]) == ["archive", "reports", "uploads"]
    for logical, physical in names["production"]["bucket"].items():
        assert physical == f"photo-app-production-{logical}"
        assert f'name        = "{physical}"' in main_tf


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("command", ["generate", "transform"])
def test_hostile_names_are_refused_with_their_location(project, run, case, command) -> None:
    name, reason = HOSTILE[case]
    project.write("src/app.py", f'from infrar.storage import write\n\nwrite({name!r}, "k", "v")\n')
    args = [command, "-e", "dev", "--out", "out"] + (["src"] if command == "transform" else [])
    result = run(*args)
    assert result.exit_code == 2
    assert "src/app.py:3:1: error: bucket name" in result.output
    assert reason in result.output
    assert "nothing was written" in result.output
    assert not (project.root / "out").exists()


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_every_provider_refuses_hostile_names(project, provider) -> None:
    project.write("src/app.py", 'from infrar.storage import write\nwrite("a${b}", "k", "v")\n')
    target = resolve_target(load_project_config(), environment="dev", provider=provider)
    result = generate_paths([project.src], target=target)
    assert not result.ok and not result.files
    assert result.diagnostics[0].code == "resource-name"
    assert load_plugin(provider).display_name in result.diagnostics[0].message


def test_naming_pattern_can_push_a_name_over_the_limit(project, run) -> None:
    project.write("src/app.py",
                  f'from infrar.storage import write\nwrite("{"n" * 50}", "k", "v")\n')
    result = run("generate", "-e", "production", "--out", "out")
    assert result.exit_code == 2
    assert "becomes 'photo-app-production-nnn" in result.output
    assert "the limit is 63" in result.output


@given(st.text(max_size=40))
def test_no_accepted_name_can_break_out_of_an_hcl_string(name: str) -> None:
    rule = NamingRule(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", 3, 63, "a name")
    if name_problem(name, name, rule) is None:
        assert hostile_reason(name) is None
        assert hcl.string(name) == f'"{name}"'


@given(st.text(max_size=40))
def test_hcl_strings_are_always_literal(text: str) -> None:
    quoted = hcl.string(text)
    inner = quoted[1:-1]
    assert quoted.startswith('"') and quoted.endswith('"')
    assert "\n" not in quoted and "\r" not in quoted
    # Every `${` or `%{` left is escaped by doubling, and no unescaped quote remains.
    assert "${" not in inner.replace("$${", "") and "%{" not in inner.replace("%%{", "")
    assert '"' not in inner.replace('\\\\', "").replace('\\"', "")
