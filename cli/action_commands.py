"""The GitHub Action (action.yml): `infrar action run` reads the inputs from `INFRAR_INPUT_*`
variables, runs check / transform / plan / apply / drift / comment, then writes the step
outputs, the job summary and one pull-request comment. The YAML only installs Infrar and calls
this."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infrar.cli.check import plural
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.terraform.markdown import code, escape_html, fence, split_markdown

if TYPE_CHECKING:
    from infrar.engine.config import Target
    from infrar.engine.infra.runs import PreparedRun

COMMANDS = ("check", "transform", "plan", "apply", "drift", "comment")
OUTPUTS = ("changed", "to-add", "to-change", "to-destroy", "plan-digest", "summary", "report")
TOKEN_VARIABLE = "INFRAR_GITHUB_TOKEN"
KEY_PREFIX = "action:"  # the Action's keys in the marker scheme of app/github/publish.py
SUMMARY_LIMIT = 1_000_000  # GitHub accepts up to 1 MiB of job summary per step
EXIT_FAILED = 1
EXIT_DIAGNOSTICS = 2
_MARKER = re.compile(r"<!-- infrar:action:([A-Za-z0-9._/:@-]{1,200}) -->")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._/:@-]+")
_TRUE = ("true", "1", "yes", "on")


class ActionError(Exception):
    """A problem with the inputs or the workflow: reported as-is, exit status 1."""


@dataclass(frozen=True)
class Inputs:
    command: str
    providers: tuple[str, ...]
    environment: str | None
    working_directory: Path
    output_directory: str | None
    comment: bool
    pull_request: int | None
    comment_file: Path | None
    report_file: Path | None
    token: str

    @property
    def provider(self) -> str | None:
        return self.providers[0] if self.providers else None


@dataclass
class Result:
    """What a command produced: a Markdown report and the step outputs."""

    title: str
    markdown: str
    ok: bool = True
    outputs: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    marker_key: str | None = None  # `comment` reuses the key of the report it posts


def read_inputs(environ: Mapping[str, str]) -> Inputs:
    def get(name: str) -> str:
        return environ.get(f"INFRAR_INPUT_{name}", "").strip()

    command = get("COMMAND") or "check"
    if command not in COMMANDS:
        raise ActionError(f"command must be one of {', '.join(COMMANDS)}; got {command!r}")
    workspace = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    working = (workspace / (get("WORKING_DIRECTORY") or ".")).resolve()
    if not working.is_relative_to(workspace) or not working.is_dir():
        raise ActionError(f"working-directory {get('WORKING_DIRECTORY')!r} is not a folder "
                          "inside the workspace")
    providers = tuple(p for p in re.split(r"[\s,]+", get("PROVIDER")) if p)
    if len(providers) > 1 and command != "check":
        raise ActionError(f"{command} takes one provider; got {', '.join(providers)}")
    pull = get("PULL_REQUEST")
    if pull and not pull.isdigit():
        raise ActionError(f"pull-request must be a number; got {pull!r}")
    comment_file = get("COMMENT_FILE")
    report_file = (working / get("REPORT_FILE")).resolve() if get("REPORT_FILE") else None
    if report_file is not None and not report_file.is_relative_to(workspace):
        raise ActionError(f"report-file {get('REPORT_FILE')!r} must be inside the workspace")
    return Inputs(
        command=command,
        providers=providers,
        environment=get("ENVIRONMENT") or None,
        working_directory=working,
        output_directory=get("OUTPUT_DIRECTORY") or None,
        comment=get("COMMENT").lower() in _TRUE if get("COMMENT") else True,
        pull_request=int(pull) if pull else None,
        comment_file=(working / comment_file) if comment_file else None,
        report_file=report_file,
        token=environ.get(TOKEN_VARIABLE, ""),
    )


def run_action(environ: Mapping[str, str]) -> int:
    # Terraform and its providers inherit this process's environment: the token stays here.
    os.environ.pop(TOKEN_VARIABLE, None)
    try:
        inputs = read_inputs(environ)
    except ActionError as exc:
        _error(str(exc))
        append_summary(environ, _problem_markdown("Infrar: invalid input", str(exc)))
        return EXIT_FAILED
    os.chdir(inputs.working_directory)
    result = _run_command(inputs, environ)
    outputs = {name: "" for name in OUTPUTS} | {"changed": "false"} | result.outputs
    outputs["summary"] = outputs["summary"] or result.title
    key = _comment_key(result.marker_key or _default_key(inputs, environ))
    outputs["report"] = str(_write_report(key, result.markdown, environ, inputs.report_file))
    write_outputs(environ, outputs)
    append_summary(environ, result.markdown)
    for diagnostic in result.diagnostics:
        annotate(diagnostic, environ)
    if inputs.comment:
        try:
            post_comment(inputs, environ, key, result.markdown)
        except ActionError as exc:
            _error(str(exc))
            return EXIT_FAILED
    if not result.ok:
        return EXIT_DIAGNOSTICS if result.diagnostics else EXIT_FAILED
    return 0


def _run_command(inputs: Inputs, environ: Mapping[str, str]) -> Result:
    """The command's result; a failure becomes a failed result, so it is still reported."""
    failed = f"Infrar {inputs.command} failed"
    try:
        return COMMAND_RUNNERS[inputs.command](inputs, environ)
    except _Diagnostics as exc:
        shown = [_relative(d, environ) for d in exc.diagnostics]
        title = f"Infrar {inputs.command}: {plural(len(shown), 'problem')}"
        return Result(title, _problem_markdown(title, "\n".join(map(str, shown))), ok=False,
                      diagnostics=shown)
    except (ActionError, EngineError) as exc:
        _error(str(exc))
        return Result(failed, _problem_markdown(failed, str(exc)), ok=False)


# --- the commands -----------------------------------------------------------------------------

def run_check(inputs: Inputs, environ: Mapping[str, str]) -> Result:
    from infrar.cli.check import check_paths

    report = check_paths([], inputs.providers, start=Path.cwd())
    providers = ", ".join(report.providers)
    if not report.problems:
        title = f"Infrar check: every SDK use can be transformed for {providers}"
        return Result(title, f"### {escape_html(title)}\n\n{plural(report.files, 'file')} "
                      "checked.\n",
                      outputs={"summary": title})
    title = f"Infrar check: {plural(len(report.problems), 'problem')} for {providers}"
    lines = report.lines()
    markdown = "\n".join([f"### {escape_html(title)}", "", *fence(lines, info="text")]) + "\n"
    return Result(title, markdown, ok=False, outputs={"summary": title},
                  diagnostics=sorted(report.problems))


def run_transform(inputs: Inputs, environ: Mapping[str, str]) -> Result:
    from infrar.cli.check import output_dir
    from infrar.cli.hook_commands import (
        Problems,
        expected_output,
        leftover_files,
        remove_files,
        stale_files,
    )
    from infrar.engine.config import load_project_config
    from infrar.engine.files import write_tree

    config = load_project_config(start=Path.cwd())
    chosen = inputs.output_directory
    output = (Path.cwd() / chosen).resolve() if chosen else output_dir(config)
    if output is None:
        raise ActionError("transform needs an output-directory input, or `output:` in "
                          ".infrar.yaml")
    workspace = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    if not output.is_relative_to(workspace):
        raise ActionError(f"output-directory {chosen!r} must be inside the workspace")
    try:
        expected = expected_output(config, output=output, provider=inputs.provider,
                                   environment=inputs.environment)
    except Problems as exc:
        problems = [_relative(d, environ) for d in exc.diagnostics]
        title = f"Infrar transform: {plural(len(problems), 'problem')}; nothing was written"
        return Result(title, _problem_markdown(title, "\n".join(map(str, problems))), ok=False,
                      outputs={"summary": title}, diagnostics=problems)
    stale = stale_files(expected, output)
    leftovers = leftover_files(expected, output)
    write_tree(output, stale)
    remove_files(output, leftovers)
    shown = output.relative_to(workspace).as_posix() or "."
    if stale or leftovers:
        counts = [f"{plural(len(stale), 'file')} written to {shown}"] if stale else []
        counts += [f"{plural(len(leftovers), 'stale file')} removed"] if leftovers else []
        title = f"Infrar transform: {', '.join(counts)}"
    else:
        title = f"Infrar transform: {shown} is up to date"
    lines = [f"### {escape_html(title)}", ""]
    if stale or leftovers:
        lines += ["| File | |", "| --- | --- |"]
        lines += [f"| {code((Path(shown) / p).as_posix())} | written |" for p in sorted(stale)]
        lines += [f"| {code((Path(shown) / p).as_posix())} | removed |" for p in leftovers]
    changed = bool(stale or leftovers)
    return Result(title, "\n".join(lines) + "\n",
                  outputs={"changed": str(changed).lower(), "summary": title})


def run_plan(inputs: Inputs, environ: Mapping[str, str]) -> Result:
    from infrar.engine.infra.runs import run_plan as plan

    target, prepared = _prepare(inputs)
    outcome = _terraform(lambda: plan(prepared.generation, workdir=prepared.workdir,
                                      env=prepared.env))
    summary = outcome.summary
    title = f"Infrar plan: {target.provider} / {target.environment}"
    return Result(title, outcome.markdown(title), outputs={
        "changed": str(not summary.no_changes).lower(), "to-add": str(summary.add),
        "to-change": str(summary.change), "to-destroy": str(summary.destroy),
        "plan-digest": outcome.digest, "summary": summary.headline})


def run_apply(inputs: Inputs, environ: Mapping[str, str]) -> Result:
    from infrar.engine.infra.runs import PLAN_FILE
    from infrar.engine.infra.runs import run_apply as apply
    from infrar.engine.terraform.runner import digest_path

    target, prepared = _prepare(inputs)
    digest = ""
    recorded = digest_path(prepared.workdir / PLAN_FILE)
    if recorded.is_file():
        digest = str(json.loads(recorded.read_text(encoding="utf-8")).get("sha256", ""))
    applied = _terraform(lambda: apply(prepared.generation, workdir=prepared.workdir,
                                       env=prepared.env))
    title = f"Infrar apply: {target.provider} / {target.environment}: applied"
    tail = applied.output.strip().splitlines()[-40:]
    markdown = "\n".join([f"### {escape_html(title)}", "", f"Plan digest: {code(digest)}", "",
                          "<details><summary>Terraform output</summary>", "",
                          *fence(tail, info="text"), "", "</details>"]) + "\n"
    return Result(title, markdown, outputs={"changed": "true", "plan-digest": digest,
                                            "summary": title})


def run_drift(inputs: Inputs, environ: Mapping[str, str]) -> Result:
    """A plan against the state apply keeps (see docs/drift.md): the step fails on drift."""
    from infrar.engine.drift import detect_drift

    target, prepared = _prepare(inputs)
    report = _terraform(lambda: detect_drift(prepared.generation, workdir=prepared.workdir,
                                             env=prepared.env,
                                             environment=target.environment))
    title = f"Infrar drift: {target.provider} / {target.environment}"
    return Result(title, report.markdown(title), ok=not report.drifted, outputs={
        "changed": str(report.drifted).lower(), "summary": report.headline})


def run_comment(inputs: Inputs, environ: Mapping[str, str]) -> Result:
    """Post a report an earlier, unprivileged run wrote (see docs: fork pull requests)."""
    if inputs.comment_file is None:
        raise ActionError("command comment needs the comment-file input")
    try:
        text = inputs.comment_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ActionError(f"cannot read comment-file: {exc}") from None
    first, _, body = text.partition("\n")
    found = _MARKER.fullmatch(first.strip())
    if found is None:
        raise ActionError("comment-file does not start with an Infrar Action marker; "
                          "it must be the `report` output of an earlier step")
    title = "Infrar report"
    run = _event(environ).get("workflow_run")
    origin = f"workflow run {run.get('id')} for commit {str(run.get('head_sha'))[:12]}" \
        if isinstance(run, dict) else "an earlier run"
    footer = f"\n<sub>Posted from the report of {escape_html(origin)}.</sub>\n"
    # Its own namespace: a report made by a pull request's code can never overwrite (and so
    # pass for) the comment of a trusted run.
    return Result(title, body.lstrip("\n").rstrip("\n") + "\n" + footer,
                  outputs={"summary": title}, marker_key=f"report:{found.group(1)}")


COMMAND_RUNNERS: dict[str, Callable[[Inputs, Mapping[str, str]], Result]] = {
    "check": run_check, "transform": run_transform, "plan": run_plan, "apply": run_apply,
    "drift": run_drift, "comment": run_comment,
}


def _prepare(inputs: Inputs) -> tuple[Target, PreparedRun]:
    """The target, and what Terraform runs on, as `infrar plan` prepares them (cloud
    credentials come from the job's environment)."""
    from infrar.cli.commands.common import find_source_paths
    from infrar.engine.config import load_project_config, resolve_target
    from infrar.engine.infra.runs import GenerationFailed, prepare_run

    config = load_project_config(start=Path.cwd())
    target = resolve_target(config, environment=inputs.environment, provider=inputs.provider,
                            fallback_provider=os.environ.get("INFRAR_PROVIDER") or "local")
    try:
        return target, prepare_run(target, find_source_paths((), config), environ=os.environ)
    except GenerationFailed as exc:
        raise _Diagnostics(exc.errors) from None


class _Diagnostics(EngineError):
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(map(str, diagnostics)))
        self.diagnostics = diagnostics


def _terraform(run: Callable[[], Any]) -> Any:
    from infrar.engine.terraform import (
        OfflineSetupError,
        StalePlanError,
        TerraformError,
        TerraformNotFoundError,
    )

    try:
        return run()
    except (TerraformError, StalePlanError, TerraformNotFoundError, OfflineSetupError) as exc:
        raise ActionError(str(exc)) from None


# --- outputs, summary, annotations, comment ---------------------------------------------------

def write_outputs(environ: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Append `name<<delimiter` blocks to $GITHUB_OUTPUT, with a delimiter no value holds."""
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            if delimiter in value or delimiter in name:  # astronomically unlikely; never silent
                raise ActionError("output delimiter collision")
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(environ: Mapping[str, str], markdown: str) -> None:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(_bounded(markdown, SUMMARY_LIMIT, environ) + "\n")


def _relative(diagnostic: Diagnostic, environ: Mapping[str, str]) -> Diagnostic:
    """The diagnostic with its path relative to the workspace, as GitHub and readers want it."""
    workspace = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    path = Path(diagnostic.path).resolve()
    if not path.is_relative_to(workspace):
        return diagnostic
    return dataclasses.replace(diagnostic, path=path.relative_to(workspace).as_posix())


def annotate(diagnostic: Diagnostic, environ: Mapping[str, str]) -> None:
    """A workflow command, so the problem shows on the line in the pull request's diff."""
    shown = _relative(diagnostic, environ).path
    level = "warning" if diagnostic.severity == "warning" else "error"
    properties = ",".join(f"{k}={_escape(str(v), property_value=True)}" for k, v in (
        ("file", shown), ("line", diagnostic.line), ("col", diagnostic.col),
        ("title", f"infrar {diagnostic.code}")))
    print(f"::{level} {properties}::{_escape(diagnostic.message)}", flush=True)


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _error(message: str) -> None:
    print(f"::error title=infrar::{_escape(message)}", flush=True)


def _warning(message: str) -> None:
    print(f"::warning title=infrar::{_escape(message)}", flush=True)


def pull_request_number(inputs: Inputs, event: Mapping[str, Any]) -> int | None:
    if inputs.pull_request is not None:
        return inputs.pull_request
    if isinstance(event.get("pull_request"), dict):
        return int(event["pull_request"]["number"])
    issue = event.get("issue")
    if isinstance(issue, dict) and issue.get("pull_request"):
        return int(issue["number"])
    return None


def post_comment(inputs: Inputs, environ: Mapping[str, str], key: str, markdown: str) -> None:
    """Create or update the pull request's comment under `key`; a failure to reach or write to
    GitHub only warns (the job summary has the report), a mismatched pull request is an
    ActionError."""
    from infrar.app.github.client import ERRORS, GitHubClient, status_of
    from infrar.app.github.publish import key_of, publish_comment

    event = _event(environ)
    number = pull_request_number(inputs, event)
    repository = environ.get("GITHUB_REPOSITORY", "")
    if number is None or not repository:
        return  # not a pull request: the job summary is the report
    if not inputs.token:
        _warning("no github-token: the report is in the job summary only")
        return
    api_url = environ.get("GITHUB_API_URL") or "https://api.github.com"
    token = inputs.token
    forge = GitHubClient(repo=repository, token=lambda: token, api_url=api_url)
    try:
        run = event.get("workflow_run")
        # The number came from an artifact a pull request's run wrote: trust it only if that
        # pull request's head is the commit the run was for.
        if inputs.command == "comment" and isinstance(run, dict) and \
                forge.pull(number).head_sha != run.get("head_sha"):
            raise ActionError(f"pull request #{number} is not the one workflow run "
                              f"{run.get('id')} was for (head commits differ); not commenting")
        existing = forge.comments(number)
        action = "updated" if any(key_of(c, forge) == key for c in existing) else "created"
        publish_comment(forge, number, key=key, body=markdown, existing=existing,
                        cut_note=f"\n\n*Cut to fit; the whole report is in the job summary of "
                                 f"{escape_html(_run_url(environ))}.*\n")
        print(f"infrar: {action} the comment on pull request #{number}", flush=True)
    except ERRORS as exc:
        status = status_of(exc)
        hint = " (pull requests from forks get a read-only token; see the fork-safe pattern " \
               "in docs/github-action.md)" if status in (401, 403) else ""
        _warning(f"could not comment on pull request #{number}: "
                 f"{_github_failure(exc, status, api_url)}{hint}")


def _event(environ: Mapping[str, str]) -> dict[str, Any]:
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _default_key(inputs: Inputs | None, environ: Mapping[str, str]) -> str:
    if inputs is None:
        return "error"
    workspace = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    folder = inputs.working_directory.relative_to(workspace).as_posix()
    return f"{inputs.command}:{inputs.environment or 'default'}:{folder}"


def _github_failure(error: Exception, status: int, api_url: str) -> str:
    if not status:
        return f"cannot reach {api_url}: {error}"
    data = getattr(error, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    return f"GitHub answered {status}: {message or error}"


def _comment_key(key: str) -> str:
    return KEY_PREFIX + _KEY_UNSAFE.sub("_", key)[:200]


def _write_report(key: str, markdown: str, environ: Mapping[str, str],
                  wanted: Path | None) -> Path:
    """The report, marker first, where the `report-file` input says (else under RUNNER_TEMP):
    the artifact that the fork-safe pattern's second workflow posts with `command: comment`."""
    path = wanted or Path(environ.get("RUNNER_TEMP") or os.getcwd()) / "infrar-action" / \
        f"report-{secrets.token_hex(4)}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    from infrar.app.github.publish import marker

    path.write_text(f"{marker(key)}\n{markdown}", encoding="utf-8")
    return path


def _bounded(markdown: str, limit: int, environ: Mapping[str, str]) -> str:
    if len(markdown) <= limit:
        return markdown
    note = f"\n\n*Cut to fit; the whole report is in the job summary of " \
           f"{escape_html(_run_url(environ))}.*\n"
    return split_markdown(markdown, limit - len(note))[0] + note


def _run_url(environ: Mapping[str, str]) -> str:
    return "{}/{}/actions/runs/{}".format(environ.get("GITHUB_SERVER_URL", "https://github.com"),
                                          environ.get("GITHUB_REPOSITORY", ""),
                                          environ.get("GITHUB_RUN_ID", ""))


def _problem_markdown(title: str, text: str) -> str:
    return "\n".join([f"### {escape_html(title)}", "", *fence(text.splitlines(), info="text")]) \
        + "\n"
