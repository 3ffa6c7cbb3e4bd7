"""Helpers end a command with a typed error, never by exiting: only `infrar`'s entry prints its
lines and turns it into the exit code."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from infrar.cli.commands.common import EXIT_FAILED, fail, guard
from infrar.cli.failure import CommandFailed
from infrar.cli.main import cli
from infrar.engine.diagnostics import EngineError


def test_helpers_raise_a_typed_error_with_the_lines_and_code() -> None:
    with pytest.raises(CommandFailed) as caught:
        fail(["first", "second"], code=EXIT_FAILED)
    assert (caught.value.lines, caught.value.code) == (("first", "second"), EXIT_FAILED)

    def broken() -> None:
        raise EngineError("unknown provider 'nimbus'")

    with pytest.raises(CommandFailed) as guarded:
        guard(broken)
    assert (guarded.value.lines, guarded.value.code) == (("error: unknown provider 'nimbus'",), 2)


def test_the_command_line_prints_the_lines_and_exits_with_the_code(tmp_path) -> None:
    (tmp_path / ".infrar.yaml").write_text("version: 1\nproject: photos\nprovider: nimbus\n")
    result = CliRunner().invoke(cli, ["generate", "--out", str(tmp_path / "out"), "--config",
                                      str(tmp_path / ".infrar.yaml")],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "nimbus" in result.output
