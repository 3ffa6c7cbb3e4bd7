"""`infrar app …`: run the GitHub App (needs the `app` extra; docs/install.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from infrar.app.runtime import Runtime
    from infrar.app.settings import Settings


APP_EXTRA = ("install it with pip install 'infrar[app] @ "
             "git+https://github.com/infrar/infrar@<release tag>' (docs/install.md)")


@click.group("app")
def app_group() -> None:
    """The GitHub App: webhook server, queue workers, credentials."""


def _settings(*, acts_on_github: bool = False) -> Settings:
    try:
        from infrar.app.settings import Settings, SettingsError, scrub_environment
    except ImportError as exc:
        raise click.ClickException(
            f"the GitHub App needs the 'app' extra: {exc}\n{APP_EXTRA}") from None
    try:
        settings = Settings.from_env()
        if acts_on_github:
            settings.check_github_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    scrub_environment()
    return settings


def _runtime(settings: Settings) -> Runtime:
    """The App's services; a database it cannot bring up to date ends the command with the
    reason, before anything runs."""
    from infrar.app.runtime import Runtime
    from infrar.app.state.upgrade import SchemaUpgradeError

    try:
        return Runtime.from_settings(settings)
    except SchemaUpgradeError as exc:
        raise click.ClickException(f"the App's database cannot be used: {exc}") from None


def _logging(level: str) -> None:
    from infrar.app.logs import configure

    configure(level)


LOG_LEVEL = click.option("--log-level", default="info", show_default=True,
                         type=click.Choice(["debug", "info", "warning", "error"]))


@app_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="Request-handling threads (requests reach them only once read whole).")
@click.option("--embedded-workers", default=2, show_default=True, type=click.IntRange(min=0),
              help="Queue worker threads in this process; 0 when `infrar app worker` runs apart.")
@click.option("--server", type=click.Choice(["waitress", "flask"]), default="waitress",
              show_default=True,
              help="waitress for production (safe to expose: slow clients hold no thread); "
                   "flask's server for development only.")
@LOG_LEVEL
def serve(host: str, port: int, threads: int, embedded_workers: int, server: str,
          log_level: str) -> None:
    """Receive webhooks on POST /webhook (and answer GET /healthz)."""
    settings = _settings(acts_on_github=embedded_workers > 0)
    _logging(log_level)
    from infrar.app.server import serve as run

    run(_runtime(settings), host=host, port=port, threads=threads,
        embedded_workers=embedded_workers, server=server)


@app_group.command("worker")
@click.option("--workers", default=2, show_default=True, type=int, help="Worker threads.")
@LOG_LEVEL
def worker(workers: int, log_level: str) -> None:
    """Run queued deliveries (for INFRAR_QUEUE_URL shared with `serve`)."""
    settings = _settings(acts_on_github=True)
    _logging(log_level)
    from infrar.app.worker import run_worker

    run_worker(_runtime(settings), workers=workers)


@app_group.command("drift-check")
@click.option("--due-only", is_flag=True,
              help="Only the checks whose drift.schedule has fired since they last ran.")
@LOG_LEVEL
def drift_check(due_only: bool, log_level: str) -> None:
    """Check each installed repository's default branch for drift now: every project and
    environment whose .infrar.yaml sets drift.schedule. Exits 0 when none drifted, 2 when one
    did, 1 when one could not be checked."""
    settings = _settings()
    _logging(log_level)
    from infrar.app.workflow.drift_check import DRIFTED, ERROR, run_round

    results = run_round(_runtime(settings), only_due=due_only)
    for r in results:
        issue = f" (issue #{r.issue})" if r.issue else ""
        click.echo(f"{r.repo} {r.project or '.'} {r.environment or '-'}: {r.outcome}{issue}")
    outcomes = {r.outcome for r in results}
    sys.exit(1 if ERROR in outcomes else 2 if DRIFTED in outcomes else 0)


@app_group.command("set-credential")
@click.option("--repo", required=True, help="owner/name")
@click.option("--environment", "-e", required=True)
@click.argument("name")
def set_credential(repo: str, environment: str, name: str) -> None:
    """Store NAME (an environment variable for Terraform) sealed; the value is read from stdin."""
    settings = _settings()
    from infrar.app.state import credentials

    value = sys.stdin.read().rstrip("\n")
    runtime = _runtime(settings)
    credentials.put(runtime.db, runtime.vault, repo=repo, environment=environment, name=name,
                    value=value)
    click.echo(f"stored {name} for {repo} ({environment})", err=True)


@app_group.command("rotate-key")
def rotate_key() -> None:
    """Re-seal credentials, plans and Terraform state under the first key of
    INFRAR_ENCRYPTION_KEY."""
    settings = _settings()
    from infrar.app.state.rotation import rotate_all

    runtime = _runtime(settings)
    counts = rotate_all(runtime.db, runtime.vault)
    click.echo("re-sealed " + ", ".join(f"{n} {kind}" for kind, n in counts.items()), err=True)


@app_group.command("new-key")
def new_key() -> None:
    """Print a fresh base64 AES-256 key for INFRAR_ENCRYPTION_KEY."""
    from infrar.app.crypto import new_key as make

    click.echo(make())


@app_group.command("register")
@click.option("--webhook-url", required=True,
              help="Where GitHub sends webhooks: the public URL of this App's POST /webhook, "
                   "e.g. https://infrar.example.com/webhook.")
@click.option("--env-file", default="infrar.env", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where the App's credentials are written (mode 0600).")
@click.option("--force", is_flag=True, help="Replace an existing env file.")
@click.option("--name", help="The App's name (unique on GitHub); default: the manifest's.")
@click.option("--org", "organization", help="Create the App for this organization.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Loopback port of the registration page (0: any free one).")
@click.option("--timeout", default=1800.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds to wait for GitHub's answer.")
def register(webhook_url: str, env_file: Path, force: bool, name: str | None,
             organization: str | None, port: int, timeout: float) -> None:
    """Create the GitHub App from app/manifest.json through GitHub's manifest flow (a page
    served on 127.0.0.1), and write its id, private key, webhook secret and a fresh
    encryption key to an env file."""
    try:
        from infrar.app import register as flow
    except ImportError as exc:
        raise click.ClickException(
            f"the GitHub App needs the 'app' extra: {exc}\n{APP_EXTRA}") from None
    api_url, web_url = flow.github_urls(os.environ)
    try:
        flow.refuse_existing(env_file, force=force)
        page = flow.ManifestFlow(api_url=api_url, web_url=web_url, webhook_url=webhook_url,
                                 name=name, organization=organization, port=port)
        click.echo(f"Open {page.url} in a browser signed in to {web_url} and press the button.")
        registration = page.wait(timeout)
        flow.save(registration, env_file, api_url=api_url, force=force)
    except flow.RegistrationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(flow.next_steps(registration, env_file, webhook_url), nl=False)
