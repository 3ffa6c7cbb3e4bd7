"""`infrar credentials`, `infrar bootstrap`: for plugin authors and
for whoever sets up an account."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from infrar.cli.commands.common import auth_method, fail, guard, load_target, target_options

if TYPE_CHECKING:
    from infrar.engine.infra.catalog import AuthMethod


@click.group()
def credentials() -> None:
    """Authentication methods and the credentials they take."""


@credentials.command("methods")
@click.option("--provider", "-p", required=True, help="Provider plugin.")
def credentials_methods(provider: str) -> None:
    """List the provider's authentication methods and the variables each reads."""
    from infrar.engine.infra.catalog import load_plugin

    plugin = guard(lambda: load_plugin(provider))
    for name, method in sorted(plugin.auth_methods.items()):
        default = " (default)" if name == plugin.default_auth else ""
        click.echo(f"{name}{default}: {method.display_name} [{method.kind}]")
        required = set(method.schema.get("required", []))
        for field, spec in method.fields.items():
            need = "required" if field in required else "optional"
            secret = ", secret" if spec.get("x-secret") else ""
            click.echo(f"    {spec['x-env']:<36} {need}{secret}: {spec['description']}")


@credentials.command("check")
@click.option("--provider", "-p", required=True, help="Provider plugin.")
@click.option("--method", "-m", "method_name", default=None,
              help="Authentication method [default: the provider's default].")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the credentials from this file instead of environment variables.")
def credentials_check(provider: str, method_name: str | None, file: Path | None) -> None:
    """Check credentials against the method's schema and show the environment Terraform would
    get (secrets masked). Exits 2 when they do not fit."""
    from infrar.engine.infra.credentials import credentials_for

    method = auth_method(provider, method_name)
    name = method.name
    result = credentials_for(method, environ=os.environ, file=file)
    if not result.ok:
        fail([*result.problems, *_looked_for(provider, method, file),
              f"{len(result.problems)} problem(s) with the {name} credentials"])
    click.echo(f"{provider} / {name}: the credentials fit; Terraform would run with:")
    for variable, shown in result.shown():
        click.echo(f"  {variable}={shown}")


@click.command()
@target_options
@click.option("--print", "to_stdout", is_flag=True, help="Print the script.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the script to this file (made executable).")
def bootstrap(provider: str | None, environment: str | None, region: str | None,
              config_file: Path | None, to_stdout: bool, out: Path | None) -> None:
    """Render the provider's bootstrap script (state storage, APIs) for an environment."""
    if not (to_stdout or out):
        raise click.UsageError("say where the script goes: --print or --out FILE")
    target = load_target(provider=provider, environment=environment, region=region,
                         config_file=config_file)
    from infrar.engine.infra.generate import render_bootstrap

    script = guard(lambda: render_bootstrap(target))
    if out:
        out.write_text(script, encoding="utf-8")
        out.chmod(0o755)
        click.echo(f"wrote {out}", err=True)
    if to_stdout:
        click.echo(script, nl=False)


def _looked_for(provider: str, method: AuthMethod, file: Path | None) -> list[str]:
    """When no variable of `method` is set (and no file given), the variables it reads."""
    variables = {field: spec["x-env"] for field, spec in method.fields.items()
                 if spec.get("x-env")}
    if file is not None or not variables or any(v in os.environ for v in variables.values()):
        return []
    required = set(method.schema.get("required", []))
    named = [f"{v}{'' if f in required else ' (optional)'}" for f, v in variables.items()]
    return [f"none of the variables of {method.name} is set; looked for {', '.join(named)} "
            f"(all methods: `infrar credentials methods -p {provider}`)"]
