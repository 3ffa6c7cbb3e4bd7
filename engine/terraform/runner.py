"""Run Terraform/OpenTofu commands: no shell, no prompts, bounded in time, secrets scrubbed."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .binary import find_binary
from .redaction import redact, secrets_from_env

DEFAULT_TIMEOUT_S = 3600.0
INTERRUPT_GRACE_S = 20.0
DIGEST_SUFFIX = ".digest.json"
DIGEST_FORMAT = 1
CONFIG_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")
LOCK_FILE = ".terraform.lock.hcl"

_DEFAULT_ENV = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}

# Called with each line (no newline) Terraform prints, stdout and stderr alike, secrets
# redacted as in the result, while the command runs. It runs on a reader thread; an
# exception it raises stops further calls and never the command.
OutputCallback = Callable[[str], None]


class TerraformError(RuntimeError):
    """A Terraform command failed; `stderr` is Terraform's own text, secrets redacted."""

    def __init__(
        self,
        command: str,
        *,
        returncode: int | None,
        stderr: str,
        stdout: str = "",
        headline: str | None = None,
    ):
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        detail = stderr.strip() or stdout.strip()[-4000:]
        headline = headline or f"terraform {command} failed (exit code {returncode})"
        super().__init__(f"{headline}:\n{detail}" if detail else headline)


class TerraformTimeoutError(TerraformError):
    def __init__(self, command: str, *, timeout: float, stderr: str, stdout: str = ""):
        self.timeout = timeout
        super().__init__(
            command,
            returncode=None,
            stderr=stderr,
            stdout=stdout,
            headline=f"terraform {command} timed out after {timeout:g}s",
        )


class StalePlanError(RuntimeError):
    """The saved plan no longer matches what was reviewed: plan again before applying."""

    def __init__(self, message: str, *, changed_files: Sequence[str] = ()):
        self.changed_files = tuple(changed_files)
        super().__init__(message)


@dataclass(frozen=True)
class CommandResult:
    command: str
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float


@dataclass(frozen=True)
class InitResult:
    workdir: Path
    output: str
    duration_s: float


@dataclass(frozen=True)
class PlanDigest:
    plan_sha256: str
    config_sha256: str
    files: Mapping[str, str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(f"{self.plan_sha256}\n{self.config_sha256}\n".encode()).hexdigest()


@dataclass(frozen=True)
class PlanResult:
    workdir: Path
    plan_file: Path
    digest_file: Path
    digest: PlanDigest
    has_changes: bool
    output: str
    duration_s: float


@dataclass(frozen=True)
class ApplyResult:
    workdir: Path
    plan_file: Path
    output: str
    duration_s: float


@dataclass(frozen=True)
class FmtResult:
    formatted: bool
    unformatted_files: tuple[str, ...]


def init(
    workdir: Path,
    *,
    upgrade: bool = False,
    backend: bool = True,
    env: Mapping[str, str] | None = None,
    binary: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    secrets: Iterable[str] = (),
    on_output: OutputCallback | None = None,
) -> InitResult:
    args = ["init", "-input=false", "-no-color"]
    if upgrade:
        args.append("-upgrade")
    if not backend:
        args.append("-backend=false")
    result = _run(
        args,
        cwd=workdir,
        env=env,
        binary=binary,
        timeout=timeout,
        secrets=secrets,
        on_output=on_output,
    )
    return InitResult(Path(workdir), result.stdout, result.duration_s)


def plan(
    workdir: Path,
    *,
    plan_file: Path,
    var_files: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    binary: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    secrets: Iterable[str] = (),
    on_output: OutputCallback | None = None,
) -> PlanResult:
    """Plan into `plan_file` and record, beside it, the digest `apply` will insist on."""
    workdir, plan_file = Path(workdir), Path(plan_file).resolve()
    digest_file = digest_path(plan_file)
    # A failed plan must not leave an older digest that still vouches for an older plan.
    digest_file.unlink(missing_ok=True)
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={plan_file}"]
    args += [f"-var-file={Path(f).resolve()}" for f in var_files]
    result = _run(
        args,
        cwd=workdir,
        env=env,
        binary=binary,
        timeout=timeout,
        secrets=secrets,
        ok=(0, 2),
        on_output=on_output,
    )
    digest = compute_digest(workdir, plan_file=plan_file)
    _write_digest(digest_file, digest)
    return PlanResult(
        workdir,
        plan_file,
        digest_file,
        digest,
        result.returncode == 2,
        result.stdout,
        result.duration_s,
    )


def show_json(
    plan_file: Path,
    *,
    workdir: Path | None = None,
    env: Mapping[str, str] | None = None,
    binary: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """`terraform show -json` of a saved plan. Holds raw secrets: summarise it, never print."""
    plan_file = Path(plan_file).resolve()
    cwd = plan_file.parent if workdir is None else Path(workdir)
    args = ["show", "-json", "-no-color", str(plan_file)]
    # No redaction of stdout: it is parsed, and redacting could corrupt the JSON.
    result = _run(args, cwd=cwd, env=env, binary=binary, timeout=timeout, redact_stdout=False)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def apply(
    workdir: Path,
    *,
    plan_file: Path,
    env: Mapping[str, str] | None = None,
    binary: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    secrets: Iterable[str] = (),
    on_output: OutputCallback | None = None,
) -> ApplyResult:
    """Apply exactly the saved plan, after checking nothing changed since it was made."""
    workdir, plan_file = Path(workdir), Path(plan_file).resolve()
    plan_bytes = verify_plan(workdir, plan_file=plan_file)
    # Apply a private copy of the verified bytes, so the file cannot change after the check.
    with _private_copy(plan_bytes, directory=plan_file.parent) as frozen:
        args = ["apply", "-input=false", "-no-color", str(frozen)]
        result = _run(
            args,
            cwd=workdir,
            env=env,
            binary=binary,
            timeout=timeout,
            secrets=secrets,
            on_output=on_output,
        )
    return ApplyResult(workdir, plan_file, result.stdout, result.duration_s)


def fmt_check(
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    binary: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> FmtResult:
    args = ["fmt", "-check", "-list=true", "-recursive", "-no-color"]
    result = _run(args, cwd=workdir, env=env, binary=binary, timeout=timeout, ok=None)
    # Unformatted files give a non-zero exit with an empty stderr; syntax errors fill stderr.
    if result.returncode != 0 and result.stderr.strip():
        raise TerraformError("fmt", returncode=result.returncode, stderr=result.stderr)
    files = tuple(line.strip() for line in result.stdout.splitlines() if line.strip())
    return FmtResult(result.returncode == 0 and not files, files)


def digest_path(plan_file: Path) -> Path:
    plan_file = Path(plan_file)
    return plan_file.with_name(plan_file.name + DIGEST_SUFFIX)


def config_files(workdir: Path) -> list[Path]:
    """The files that make up the configuration, sorted by path relative to `workdir`."""
    workdir = Path(workdir)
    found: list[Path] = []
    for root, dirs, files in os.walk(workdir):
        # Skips .terraform/ (init's downloads) and .git/ and the like.
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root, f) for f in files if f.endswith(CONFIG_SUFFIXES) or f == LOCK_FILE]
    return sorted(found, key=lambda p: p.relative_to(workdir).as_posix())


def compute_digest(workdir: Path, *, plan_file: Path) -> PlanDigest:
    files = _hash_config(Path(workdir))
    return PlanDigest(_sha256(Path(plan_file).read_bytes()), _config_sha256(files), files)


def verify_plan(workdir: Path, *, plan_file: Path) -> bytes:
    """The plan file's bytes, if both they and the configuration match the recorded digest."""
    plan_file = Path(plan_file)
    recorded = _read_digest(digest_path(plan_file))
    try:
        plan_bytes = plan_file.read_bytes()
    except FileNotFoundError:
        raise StalePlanError(f"plan file {plan_file} does not exist") from None
    if _sha256(plan_bytes) != recorded.plan_sha256:
        raise StalePlanError(f"plan file {plan_file} changed after it was planned; plan again")
    current = _hash_config(Path(workdir))
    if _config_sha256(current) != recorded.config_sha256:
        changed = sorted(
            name
            for name in current.keys() | recorded.files.keys()
            if current.get(name) != recorded.files.get(name)
        )
        raise StalePlanError(
            f"configuration changed since the plan was made ({', '.join(changed) or 'unknown'}); "
            "plan again",
            changed_files=changed,
        )
    return plan_bytes


def _hash_config(workdir: Path) -> dict[str, str]:
    return {
        p.relative_to(workdir).as_posix(): _sha256(p.read_bytes()) for p in config_files(workdir)
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _config_sha256(files: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\n")
    return h.hexdigest()


def _write_digest(path: Path, digest: PlanDigest) -> None:
    doc = {
        "format": DIGEST_FORMAT,
        "sha256": digest.sha256,
        "plan_sha256": digest.plan_sha256,
        "config_sha256": digest.config_sha256,
        "files": dict(digest.files),
    }
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_digest(path: Path) -> PlanDigest:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return PlanDigest(doc["plan_sha256"], doc["config_sha256"], dict(doc["files"]))
    except FileNotFoundError:
        raise StalePlanError(f"no digest recorded for this plan ({path}); plan again") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise StalePlanError(f"unreadable plan digest {path}: {exc}; plan again") from None


@contextmanager
def _private_copy(data: bytes, *, directory: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=".apply-", suffix=".tfplan", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _run(
    args: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None,
    binary: Path | None,
    timeout: float,
    secrets: Iterable[str] = (),
    ok: tuple[int, ...] | None = (0,),
    redact_stdout: bool = True,
    on_output: OutputCallback | None = None,
) -> CommandResult:
    command = args[0]
    run_env = {**_DEFAULT_ENV, **os.environ, **(env or {})}
    executable = binary or find_binary(env=run_env)
    scrub = [*secrets, *secrets_from_env(run_env)]
    on_line = None if on_output is None else _redacting(on_output, scrub)
    started = time.monotonic()
    code, out, err = _communicate(
        [str(executable), *args], cwd=cwd, env=run_env, timeout=timeout, on_line=on_line
    )
    duration = time.monotonic() - started
    err = redact(err, scrub)
    out = redact(out, scrub) if redact_stdout else out
    if code is None:
        raise TerraformTimeoutError(command, timeout=timeout, stderr=err, stdout=redact(out, scrub))
    if ok is not None and code not in ok:
        raise TerraformError(command, returncode=code, stderr=err, stdout=redact(out, scrub))
    return CommandResult(command, tuple(args), code, out, err, duration)


def _redacting(on_output: OutputCallback, scrub: list[str]) -> OutputCallback:
    def on_line(line: str) -> None:
        on_output(redact(line, scrub))

    return on_line


def _popen(argv: list[str], *, cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", errors="replace")


def _communicate(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    on_line: OutputCallback | None = None,
) -> tuple[int | None, str, str]:
    """Exit code (None on timeout), stdout, stderr."""
    if on_line is not None:
        return _communicate_lines(argv, cwd=cwd, env=env, timeout=timeout, on_line=on_line)
    with _popen(argv, cwd=cwd, env=env) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            _interrupt(proc)
            try:
                out, err = proc.communicate(timeout=INTERRUPT_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            return None, out, err


def _communicate_lines(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    on_line: OutputCallback,
) -> tuple[int | None, str, str]:
    """As `_communicate`, handing each line to `on_line` as it arrives."""
    with _popen(argv, cwd=cwd, env=env) as proc:
        sink = _LineSink(on_line)
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            threading.Thread(target=sink.drain, args=(stream, collected), daemon=True)
            for stream, collected in ((proc.stdout, sink.stdout), (proc.stderr, sink.stderr))
        ]
        for reader in readers:
            reader.start()
        # Waited for on a thread of its own: `Popen.wait(timeout)` polls with sleeps of up to
        # 50 ms, so it notices an exit up to 50 ms late; a thread join wakes at once.
        waiter = threading.Thread(target=proc.wait, daemon=True)
        waiter.start()
        waiter.join(timeout)
        code: int | None = proc.returncode
        if waiter.is_alive():
            _interrupt(proc)
            waiter.join(INTERRUPT_GRACE_S)
            if waiter.is_alive():
                proc.kill()
                waiter.join()
            code = None
        for reader in readers:
            reader.join()
        return code, "".join(sink.stdout), "".join(sink.stderr)


class _LineSink:
    """Collects a process's output while passing each line on, until the callback fails."""

    def __init__(self, on_line: OutputCallback):
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._on_line: OutputCallback | None = on_line
        self._lock = threading.Lock()

    def drain(self, stream: Any, collected: list[str]) -> None:
        for line in stream:
            collected.append(line)
            self._pass_on(line.rstrip("\r\n"))

    def _pass_on(self, line: str) -> None:
        with self._lock:
            if self._on_line is None:
                return
            try:
                self._on_line(line)
            except Exception:
                self._on_line = None


def _interrupt(proc: subprocess.Popen[str]) -> None:
    # An interrupt, not a kill, first: Terraform then stops cleanly and releases its state lock.
    if os.name == "posix":
        proc.send_signal(signal.SIGINT)
    else:
        proc.terminate()
