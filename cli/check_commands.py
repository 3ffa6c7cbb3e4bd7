"""The commands behind the pre-commit hooks and the GitHub Action (`infrar hook`, `infrar
action`); `cli/main.py` names them in its table of commands. The implementations load lazily.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.group(hidden=True)
def hook() -> None:
    """Entry points of the pre-commit hooks (see .pre-commit-hooks.yaml)."""


@hook.command("generate")
def hook_generate() -> None:
    """Regenerate committed outputs; exit 1 when they were stale, as formatters do."""
    from infrar.cli.hook_commands import regenerate

    sys.exit(regenerate(Path.cwd()))


@hook.command("validate-plugins")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
def hook_validate_plugins(files: tuple[Path, ...]) -> None:
    """Validate the provider plugins that FILES belong to."""
    from infrar.cli.hook_commands import validate_plugins

    sys.exit(validate_plugins(list(files)))


@click.group()
def action() -> None:
    """The GitHub Action (action.yml) runs these."""


@action.command("run")
def action_run() -> None:
    """Run the command chosen by the Action's inputs (read from INFRAR_INPUT_* variables)."""
    from infrar.cli.action_commands import run_action

    sys.exit(run_action(dict(os.environ)))

