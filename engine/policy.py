"""Policy checks of a plan: checkov's built-in checks on `terraform show -json` output, and the
repository's own checkov custom policies (YAML) from the folder `.infrar.yaml` names.

The plan JSON holds raw secrets, so it is written only to a private temporary folder (0700,
the file 0600) and removed when checkov is done; checkov runs with a clean environment (no
credentials of the caller), no network look-ups, a timeout and a bound on its output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infrar.engine import checkov_server
from infrar.engine.config import ProjectConfig
from infrar.engine.diagnostics import EngineError
from infrar.engine.terraform.markdown import code, escape_html
from infrar.engine.yamlio import YamlError, load_yaml

CHECKOV_ENV_VAR = "INFRAR_CHECKOV"
CHECKOV_VENV = Path(".venv-checkov") / "bin" / "checkov"
SOURCE_CHECKOV = Path(__file__).resolve().parents[1] / CHECKOV_VENV
"""Where `make install-test` puts checkov, beside Infrar's own source."""
DEFAULT_TIMEOUT_S = 600.0
MAX_OUTPUT_BYTES = 32 * 1024 * 1024
MAX_SHOWN_FAILURES = 50
USE_SERVER = os.environ.get("INFRAR_CHECKOV_SERVER", "1") != "0"
"""Checks go through a checkov kept imported (checkov_server) unless INFRAR_CHECKOV_SERVER=0."""
_PLAN_FILE = "plan.json"
_POLICY_SUFFIXES = (".yaml", ".yml")
_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")
_CHECKOV_ENV = {
    # No look-ups of check metadata from the vendor's API, no package scans: no network.
    "BC_SKIP_MAPPING": "TRUE",
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "LOG_LEVEL": "WARNING",
}


class PolicyError(EngineError):
    """The policies could not be checked (so the plan is neither passed nor failed)."""


class CheckovNotFoundError(PolicyError):
    """No checkov executable was found."""


class PolicyConfigError(PolicyError):
    """The custom policy folder is missing, outside the workspace, or holds a broken policy."""


class CheckovFailedError(PolicyError):
    """checkov crashed, timed out, or printed something that is not its JSON report."""


@dataclass(frozen=True)
class CustomPolicy:
    id: str
    name: str
    file: str
    """Relative to the project root, with `/` separators."""
    line: int


@dataclass(frozen=True)
class PolicyFailure:
    check_id: str
    name: str
    resource: str
    guideline: str | None = None
    policy_file: str | None = None
    """For a custom policy: its file, relative to the project root."""
    policy_line: int | None = None

    @property
    def location(self) -> str | None:
        if self.policy_file is None:
            return None
        return f"{self.policy_file}:{self.policy_line or 1}"


@dataclass(frozen=True)
class SkippedCheck:
    id: str
    reason: str


@dataclass(frozen=True)
class PolicyResult:
    failures: tuple[PolicyFailure, ...]
    passed_count: int
    skipped: tuple[SkippedCheck, ...]
    builtin: bool
    """Whether checkov's built-in checks ran (else only the custom policies)."""
    custom: tuple[CustomPolicy, ...] = ()
    config_file: str = ".infrar.yaml"
    """Where built-in failures are annotated: the configuration, relative to the project."""
    checkov_version: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def headline(self) -> str:
        verdict = "passed" if self.passed else f"{len(self.failures)} failed"
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return f"Policies: {verdict} ({self.passed_count} passed{skipped})."

    def markdown(self, title: str = "Policy checks") -> str:
        """A section for a pull-request review or a job summary (every value escaped)."""
        icon = "✅" if self.passed else "❌"
        lines = [f"#### {icon} {escape_html(title)}", "", escape_html(self.headline), ""]
        if self.failures:
            lines += ["| Check | Resource | Policy |", "| --- | --- | --- |"]
            for failure in self.failures[:MAX_SHOWN_FAILURES]:
                where = code(failure.location) if failure.location else "checkov built-in"
                lines.append(f"| {_check_label(failure)} | {code(failure.resource)} | {where} |")
            hidden = len(self.failures) - MAX_SHOWN_FAILURES
            if hidden > 0:
                lines.append(f"| and {hidden} more | | |")
            lines.append("")
        if self.skipped:
            lines.append(f"Skipped, as {code('.infrar.yaml')} declares:")
            lines += [f"- {code(s.id)}: {escape_html(s.reason)}" for s in self.skipped]
            lines.append("")
        if not self.builtin:
            lines += [f"checkov's built-in checks are off ({code('policy.checkov: false')}).", ""]
        return "\n".join(lines)

    def text(self) -> str:
        """For a terminal."""
        lines = [self.headline]
        lines += [f"  FAILED {f.check_id} {f.name} on {f.resource}"
                  + (f" ({f.location})" if f.location else "")
                  + (f" — {f.guideline}" if f.guideline else "") for f in self.failures]
        lines += [f"  skipped {s.id}: {s.reason}" for s in self.skipped]
        return "\n".join(lines) + "\n"

    def annotations(self, prefix: str = "") -> list[dict[str, Any]]:
        """Check-run annotations (GitHub's shape), paths under `prefix` (the project folder
        inside the repository, `""` at its root)."""
        found = []
        for failure in self.failures:
            path = failure.policy_file or self.config_file
            line = failure.policy_line or 1
            message = f"{failure.name} failed on {failure.resource}"
            if failure.guideline:
                message += f"\nGuideline: {failure.guideline}"
            found.append({"path": _join(prefix, path), "start_line": line, "end_line": line,
                          "annotation_level": "failure",
                          "title": f"{failure.check_id}: {failure.name}"[:255],
                          "message": message})
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "passed_count": self.passed_count,
            "builtin": self.builtin,
            "failures": [{"check_id": f.check_id, "name": f.name, "resource": f.resource,
                          "guideline": f.guideline, "policy": f.location}
                         for f in self.failures],
            "skipped": [{"id": s.id, "reason": s.reason} for s in self.skipped],
            "checkov_version": self.checkov_version,
        }


def find_checkov(explicit: Path | None = None, *, environ: Mapping[str, str] | None = None
                 ) -> Path:
    """`explicit`, else $INFRAR_CHECKOV, else the `.venv-checkov` that `make install-test` makes
    beside Infrar's own source, else `checkov` on PATH. Never a file from the project checked:
    a pull request could otherwise ship the program that judges it."""
    environ = os.environ if environ is None else environ
    if explicit is not None:
        return _executable(Path(explicit), f"checkov {explicit}")
    override = environ.get(CHECKOV_ENV_VAR, "").strip()
    if override:
        return _executable(Path(override), f"{CHECKOV_ENV_VAR}={override!r}")
    if _is_executable(SOURCE_CHECKOV):
        return SOURCE_CHECKOV
    on_path = shutil.which("checkov", path=environ.get("PATH"))
    if on_path:
        return Path(on_path)
    raise CheckovNotFoundError(
        "checkov is not installed: install it in a virtual environment of its own "
        "(python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov) and set "
        f"{CHECKOV_ENV_VAR} to its bin/checkov, or put checkov on PATH (see docs/policy.md)")


def custom_policies(config: ProjectConfig, *, project_root: Path) -> tuple[CustomPolicy, ...]:
    """The checkov custom policies (YAML) in the folder `policy.custom` names."""
    folder = custom_folder(config, project_root=project_root)
    if folder is None:
        return ()
    root = Path(project_root).resolve()
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in _POLICY_SUFFIXES):
        if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
            continue  # a link could lead outside the project
        found.append(_custom_policy(path, root))
    return tuple(found)


def custom_folder(config: ProjectConfig, *, project_root: Path) -> Path | None:
    if not config.policy.custom:
        return None
    root = Path(project_root).resolve()
    base = config.root.resolve() if config.path else root
    folder = (base / config.policy.custom).resolve()
    if not folder.is_relative_to(root):
        raise PolicyConfigError(f"policy.custom: {config.policy.custom!r} is outside the "
                                f"project ({root})")
    if not folder.is_dir():
        raise PolicyConfigError(f"policy.custom: folder {config.policy.custom!r} does not exist")
    return folder


def check_plan(plan_json: Mapping[str, Any], *, config: ProjectConfig, project_root: Path,
               checkov: Path | None = None, timeout: float = DEFAULT_TIMEOUT_S,
               environ: Mapping[str, str] | None = None) -> PolicyResult:
    """Check a plan (`terraform show -json` output) against the project's policies."""
    project_root = Path(project_root)
    custom = custom_policies(config, project_root=project_root)
    skips = config.policy.skips
    skipped = tuple(SkippedCheck(s.id, s.reason) for s in skips)
    config_file = _config_file(config, project_root)
    builtin = config.policy.checkov
    skipped_ids = {s.id for s in skips}
    wanted = [p.id for p in custom if p.id not in skipped_ids]
    if not builtin and not wanted:
        return PolicyResult((), 0, skipped, builtin, custom, config_file)
    executable = find_checkov(checkov, environ=environ)
    with _PrivateFolder() as work:
        folder = _copy_policies(custom, project_root, work / "policies") if custom else None
        args = _arguments(folder=folder, skips=sorted(skipped_ids),
                          only=None if builtin else wanted)
        plan_path = work / _PLAN_FILE
        _write_private(plan_path, json.dumps(plan_json).encode("utf-8"))
        report = _run_checkov([str(executable), "-f", str(plan_path), *args], work=work,
                              timeout=timeout, environ=environ)
    return _result(report, custom=custom, skipped=skipped, builtin=builtin,
                   config_file=config_file)


def _copy_policies(custom: tuple[CustomPolicy, ...], project_root: Path, into: Path) -> Path:
    """The YAML policies alone, copied: checkov also runs Python checks it finds in the folder
    it is given, and a repository's folder could hold one (code run by whoever checks)."""
    into.mkdir(mode=0o700)
    root = Path(project_root).resolve()
    for index, policy in enumerate(custom):
        data = (root / policy.file).read_bytes()
        (into / f"{index:04d}.yaml").write_bytes(data)
    return into


def _arguments(*, folder: Path | None, skips: Sequence[str], only: Sequence[str] | None
               ) -> list[str]:
    args = ["--framework", "terraform_plan", "-o", "json", "--quiet", "--compact",
            "--skip-download"]
    if folder is not None:
        args += ["--external-checks-dir", str(folder)]
    if only is not None:
        args += ["--check", ",".join(only)]
    elif skips:
        args += ["--skip-check", ",".join(skips)]
    return args


def _run_checkov(argv: list[str], *, work: Path, timeout: float,
                 environ: Mapping[str, str] | None) -> dict[str, Any]:
    source = os.environ if environ is None else environ
    env = {k: source[k] for k in _PASSED_ENV if k in source}
    env.update(_CHECKOV_ENV, HOME=str(work), TMPDIR=str(work))
    out_path, err_path = work / "stdout", work / "stderr"
    code = _run_served(argv, work=work, env=env, timeout=timeout, out_path=out_path,
                       err_path=err_path)
    if code is None:
        code = _run_process(argv, work=work, env=env, timeout=timeout, out_path=out_path,
                            err_path=err_path)
    if out_path.stat().st_size > MAX_OUTPUT_BYTES:
        raise CheckovFailedError(f"checkov printed more than {MAX_OUTPUT_BYTES} bytes")
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    if code not in (0, 1):
        raise CheckovFailedError(f"checkov failed (exit code {code}):\n"
                                 + _tail(err_path.read_text(encoding="utf-8", errors="replace")
                                         or stdout))
    try:
        report = json.loads(stdout)
    except ValueError:
        raise CheckovFailedError("checkov's output is not its JSON report:\n"
                                 + _tail(stdout)) from None
    return _terraform_plan_report(report)


def _run_served(argv: list[str], *, work: Path, env: dict[str, str], timeout: float,
                out_path: Path, err_path: Path) -> int | None:
    """The check run by the checkov server; None when there is none to use."""
    if not USE_SERVER:
        return None
    server = checkov_server.server_for(Path(argv[0]), _server_environment())
    request = checkov_server.Request(argv=argv, cwd=work, env=env, stdout=out_path,
                                     stderr=err_path, timeout=timeout)
    try:
        return server.run(request)
    except checkov_server.CheckTimeout:
        raise CheckovFailedError(f"checkov timed out after {timeout:g}s") from None


def _run_process(argv: list[str], *, work: Path, env: dict[str, str], timeout: float,
                 out_path: Path, err_path: Path) -> int:
    with out_path.open("wb") as out, err_path.open("wb") as err:
        try:
            return subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=err, timeout=timeout, check=False
                                  ).returncode
        except subprocess.TimeoutExpired:
            raise CheckovFailedError(f"checkov timed out after {timeout:g}s") from None
        except OSError as exc:
            raise CheckovNotFoundError(f"cannot run checkov {argv[0]}: {exc}") from None


def warm_server(checkov: Path | None = None) -> threading.Thread | None:
    """Start the checkov server in the background (for a long-lived process such as the App),
    so the first check does not wait for checkov's start-up. The thread that starts it, or None
    when checkov is missing."""
    if not USE_SERVER:
        return None
    try:
        executable = find_checkov(checkov)
    except CheckovNotFoundError:
        return None
    return checkov_server.warm(executable, _server_environment())


def _server_environment() -> dict[str, str]:
    """What the server starts with: what a check's checkov gets, but for its own folders."""
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.update(_CHECKOV_ENV)
    return env


def _terraform_plan_report(report: Any) -> dict[str, Any]:
    # One framework gives one report; several (or none that matched) give a list or a summary.
    reports = report if isinstance(report, list) else [report]
    for item in reports:
        if isinstance(item, dict) and item.get("check_type") == "terraform_plan":
            return item
    if isinstance(report, dict) and "passed" in report:
        return {"results": {}, "summary": report}
    raise CheckovFailedError("checkov's report has no terraform_plan results")


def _result(report: Mapping[str, Any], *, custom: tuple[CustomPolicy, ...],
            skipped: tuple[SkippedCheck, ...], builtin: bool, config_file: str) -> PolicyResult:
    by_id = {p.id: p for p in custom}
    summary = report.get("summary") or {}
    failures = []
    for check in (report.get("results") or {}).get("failed_checks") or ():
        policy = by_id.get(str(check.get("check_id")))
        failures.append(PolicyFailure(
            check_id=str(check.get("check_id", "?")),
            name=str(check.get("check_name") or (policy.name if policy else "")),
            resource=str(check.get("resource", "?")),
            guideline=check.get("guideline") or None,
            policy_file=policy.file if policy else None,
            policy_line=policy.line if policy else None))
    failures.sort(key=lambda f: (f.check_id, f.resource))
    return PolicyResult(tuple(failures), int(summary.get("passed") or 0), skipped, builtin,
                        custom, config_file, summary.get("checkov_version"))


def _custom_policy(path: Path, root: Path) -> CustomPolicy:
    relative = path.resolve().relative_to(root).as_posix()
    try:
        doc = load_yaml(path)
    except (OSError, YamlError, UnicodeDecodeError) as exc:
        raise PolicyConfigError(f"{relative}: {exc}") from None
    metadata = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("id"), str):
        raise PolicyConfigError(f"{relative}:1: a checkov custom policy needs metadata.id")
    return CustomPolicy(metadata["id"], str(metadata.get("name") or ""), relative,
                        doc.line_of(("metadata", "id")))


def _config_file(config: ProjectConfig, project_root: Path) -> str:
    if config.path is None:
        return ".infrar.yaml"
    try:
        return config.path.resolve().relative_to(project_root.resolve()).as_posix()
    except ValueError:
        return config.path.name


class _PrivateFolder:
    """A folder only this user can enter, removed with everything in it on exit."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="infrar-policy-"))  # mode 0700
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _executable(path: Path, what: str) -> Path:
    if not path.is_file() and len(path.parts) == 1:
        path = Path(shutil.which(str(path)) or path)  # a bare command name: look it up
    if not _is_executable(path):
        raise CheckovNotFoundError(f"{what} is not an executable file")
    return path


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _check_label(failure: PolicyFailure) -> str:
    label = f"{code(failure.check_id)} {escape_html(failure.name)}"
    guideline = failure.guideline or ""
    if guideline.startswith("https://") and escape_html(guideline) == guideline:
        return f"{label} ([guideline]({guideline}))"
    return f"{label} ({escape_html(guideline)})" if guideline else label


def _join(prefix: str, path: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{path}" if prefix else path


def _tail(text: str, limit: int = 4000) -> str:
    return text.strip()[-limit:]
