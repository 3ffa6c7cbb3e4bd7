"""`infrar` starts with click alone: commands load from their table when used."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from infrar.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]
SDK = 'from infrar.storage import write\n\nwrite("photos", "cat.jpg", b"...")\n'


def _bench() -> Any:
    path = ROOT / "bench" / "cli_startup_bench.py"
    spec = importlib.util.spec_from_file_location("cli_startup_bench", path)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_help_lists_every_command_of_the_table() -> None:
    done = CliRunner().invoke(cli, ["--help"])
    assert done.exit_code == 0, done.output
    listed = done.output.split("Commands:\n", 1)[1]
    shown = {line.split()[0] for line in listed.splitlines() if line.strip()}
    visible = {name for name in COMMANDS if name != "hook"}  # `hook` is hidden
    assert shown == visible
    for name, target in COMMANDS.items():
        command = cli.get_command(click.Context(cli), name)
        assert isinstance(command, click.Command), target
        assert command.name == name or name == "app", target


def test_every_command_has_its_help() -> None:
    for name in COMMANDS:
        done = CliRunner().invoke(cli, [name, "--help"])
        assert done.exit_code == 0, (name, done.output)
        assert "Usage: " in done.output


def test_help_imports_nothing_that_only_commands_need(tmp_path: Path) -> None:
    bench = _bench()
    imported = bench.imported_modules(["--help"], tmp_path)
    assert "click" in imported  # the command did run
    assert bench.forbidden(imported) == []
    assert not any(m.startswith("infrar.engine.infra") for m in imported)


def test_transform_check_of_a_file_without_the_sdk_loads_no_engine(tmp_path: Path) -> None:
    bench = _bench()
    project = tmp_path / "project"
    bench.make_project(project)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}  # empty to begin with
    command = ["transform", "plain.py", "--check"]
    first = bench.imported_modules(command, project, env)
    assert "jsonschema" in first  # the first run checks the configuration against its schema
    imported = bench.imported_modules(command, project, env)  # later runs: from the cache
    assert "infrar.engine.config" in imported  # the command did run: it read the config
    assert bench.forbidden(imported) == []
    assert "infrar.engine.pipeline" not in imported
    # The version (in the schema cache's key) is read from metadata only when a cache needs it.
    assert "importlib.metadata" not in imported


def test_transform_check_still_reports_files_to_rewrite(tmp_path: Path) -> None:
    bench = _bench()
    bench.make_project(tmp_path)
    (tmp_path / "app.py").write_text(SDK)
    entry = "from infrar.cli.main import main; main()"
    run = [sys.executable, "-c", entry, "transform"]
    plain = subprocess.run([*run, "plain.py", "--check"], cwd=tmp_path, capture_output=True,
                           text=True, check=False)
    assert plain.returncode == 0 and plain.stderr == ""
    both = subprocess.run([*run, "plain.py", "app.py", "--check"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert both.returncode == 1 and "would rewrite app.py" in both.stderr
    (tmp_path / ".infrar.yaml").write_text("version: 1\nprovider: 7\n")
    broken = subprocess.run([*run, "plain.py", "--check"], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert broken.returncode == 2 and "provider" in broken.stderr
