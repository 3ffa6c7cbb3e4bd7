"""Runs a composite action's steps the way the GitHub runner does, for tests.

Per step: `${{ }}` expressions are evaluated in `env:` (and nowhere in `run:`: a script that
holds one is refused, as zizmor would flag it), the script is written to a file and run with
`bash --noprofile --norc -e -o pipefail`, with the runner's GITHUB_* and RUNNER_* variables and
fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_PATH files. Outputs come back
through GITHUB_OUTPUT (`name=value` and `name<<DELIMITER` blocks); the first failing step ends
the action, as on GitHub.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_REFERENCE = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+$")


class HarnessError(AssertionError):
    pass


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    summary: str

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.steps)

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.returncode})\n{s.stdout}{s.stderr}"
                         for s in self.steps)


@dataclass
class Runner:
    """One job: a workspace, a runner temp folder, the `github` context and a base env."""

    action_path: Path
    workspace: Path
    runner_temp: Path
    github: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def run(self, inputs: dict[str, str]) -> ActionRun:
        action = yaml.safe_load((self.action_path / "action.yml").read_text())
        declared = action.get("inputs") or {}
        unknown = set(inputs) - set(declared)
        if unknown:
            raise HarnessError(f"inputs the action does not declare: {sorted(unknown)}")
        context: dict[str, Any] = {"github": self.github, "steps": {}, "runner": {
            "temp": str(self.runner_temp), "os": "Linux"}}
        context["inputs"] = {name: inputs.get(name, _evaluate(str(spec.get("default", "")),
                                                               context))
                             for name, spec in declared.items()}
        runs = action["runs"]
        if runs.get("using") != "composite":
            raise HarnessError("only composite actions are supported")
        steps: list[StepRun] = []
        summary = ""
        for step in runs["steps"]:
            done, step_summary = self._step(step, context)
            steps.append(done)
            summary += step_summary
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": done.outputs}
            if done.returncode != 0:
                break
        outputs = {name: _evaluate(str(spec["value"]), context)
                   for name, spec in (action.get("outputs") or {}).items()}
        return ActionRun(steps, outputs, summary)

    def _step(self, step: dict[str, Any], context: dict[str, Any]) -> tuple[StepRun, str]:
        if "uses" in step or "if" in step:
            raise HarnessError("the harness runs `run:` steps without `if:` only")
        script = str(step["run"])
        if "${{" in script:
            raise HarnessError(f"expression inside run: of step {step.get('name')!r}")
        if step.get("shell") != "bash":
            raise HarnessError("composite steps must name their shell; the harness runs bash")
        n = next(self._ids)
        files = {name: self.runner_temp / f"_runner_file_commands/{name.lower()}_{n}"
                 for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV",
                              "GITHUB_PATH")}
        for path in files.values():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
        script_file = self.runner_temp / f"step_{n}.sh"
        script_file.write_text(script)
        env = {**self.env, **self._runner_env(), **{k: str(v) for k, v in files.items()},
               **{k: _evaluate(str(v), context) for k, v in (step.get("env") or {}).items()}}
        cwd = self.workspace / _evaluate(str(step.get("working-directory", ".")), context)
        done = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail",
                               str(script_file)], cwd=cwd, env=env, check=False,
                              capture_output=True, text=True, timeout=900)
        outputs = parse_file_command(files["GITHUB_OUTPUT"].read_text())
        return (StepRun(str(step.get("name", f"step {n}")), done.returncode, done.stdout,
                        done.stderr, outputs), files["GITHUB_STEP_SUMMARY"].read_text())

    def _runner_env(self) -> dict[str, str]:
        g = self.github
        return {
            "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.runner_temp), "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_WORKSPACE": str(self.workspace), "GITHUB_EVENT_NAME": g["event_name"],
            "GITHUB_EVENT_PATH": g["event_path"], "GITHUB_REPOSITORY": g["repository"],
            "GITHUB_API_URL": g["api_url"], "GITHUB_SERVER_URL": g["server_url"],
            "GITHUB_RUN_ID": g["run_id"], "GITHUB_SHA": g["sha"],
        }


def _evaluate(text: str, context: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if not _REFERENCE.match(expression):
            raise HarnessError(f"unsupported expression {expression!r}")
        value: Any = context
        for part in expression.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return "" if value is None else str(value)

    return _EXPRESSION.sub(one, text)


def parse_file_command(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV syntax, parsed as the runner does."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise HarnessError(f"output {name!r}: delimiter {delimiter!r} never closes")
            i += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise HarnessError(f"invalid file command line {line!r}")
    return values


def base_environment() -> dict[str, str]:
    """The job's environment: this machine's, minus this test run's virtual environment, so the
    action has to bring its own Infrar."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "RUNNER_", "INFRAR_", "PYTEST_", "VIRTUAL_ENV"))}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p != venv_bin)
    # The checkout the action installs from is a snapshot with a history of its own: its
    # Infrar is this version, as generated files name the version of their generator.
    env["SETUPTOOLS_SCM_PRETEND_VERSION"] = version("infrar")
    return env
