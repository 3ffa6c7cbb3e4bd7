"""`infrar`: the command line over the engine.

Start-up is what every invocation pays, so this module imports only click: each command's
module is imported when that command runs (or when `--help` lists it), from the table below,
and those modules import the engine inside their commands.
"""

from __future__ import annotations

import importlib

import click

from infrar.cli.failure import CommandFailed

EXIT_CHANGED = 1
EXIT_DIAGNOSTICS = 2

COMMANDS: dict[str, str] = {
    "action": "infrar.cli.check_commands:action",
    "app": "infrar.cli.app_commands:app_group",
    "apply": "infrar.cli.commands.infra:apply",
    "bootstrap": "infrar.cli.commands.plugins:bootstrap",
    "check": "infrar.cli.check:check",
    "credentials": "infrar.cli.commands.plugins:credentials",
    "detect": "infrar.cli.commands.detect:detect",
    "drift": "infrar.cli.commands.drift:drift",
    "generate": "infrar.cli.commands.infra:generate",
    "hook": "infrar.cli.check_commands:hook",
    "plan": "infrar.cli.commands.infra:plan",
    "policy": "infrar.cli.commands.policy:policy",
    "providers": "infrar.cli.commands.providers:providers",
    "run": "infrar.cli.commands.run:run",
    "transform": "infrar.cli.commands.transform:transform",
}
"""Every command of `infrar`: its name, and the `module:attribute` that defines it."""


class LazyGroup(click.Group):
    """A group whose commands are named in a table and imported on first use (click's
    documented lazy-loading pattern)."""

    def __init__(self, *args: object, lazy_commands: dict[str, str] | None = None,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a `CommandFailed` from anywhere in it ends here, as its lines on
        stderr and its exit code."""
        try:
            return super().invoke(ctx)
        except CommandFailed as failed:
            for line in failed.lines:
                click.echo(line, err=True)
            ctx.exit(failed.code)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.version_option(package_name="infrar")
def cli() -> None:
    """Write cloud code once; ship native code and the Terraform it needs."""


def main() -> None:
    cli(prog_name="infrar")
