"""`infrar run`: the services of a project as local processes on the `local` provider.

The project is transformed for `local` through the one pipeline into `.infrar/run/local/`, its
local resources are made by the same plan and apply as `infrar apply`, and each service runs
that transformed tree (PYTHONPATH and working folder), never the SDK source. Every process is
started in a session of its own, so the terminal's Ctrl-C reaches only the supervisor, which
then stops each process group itself: SIGTERM, a grace period, SIGKILL.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO

import click

from infrar.engine.config import ServiceConfig, Target
from infrar.engine.diagnostics import Diagnostic, EngineError

RUN_DIR = Path(".infrar") / "run"
PROVIDER = "local"
HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0
"""Seconds between SIGTERM and SIGKILL when stopping."""
WATCH_INTERVAL = 1.0
TICK = 0.2
STARTUP_HEALTH_INTERVAL = 0.5
HEALTH_INTERVAL = 5.0
HEALTH_GRACE = 30.0
"""Seconds a new http process may take to answer its health path before it is reported."""
STABLE_AFTER = 10.0
"""A process that ran this long before exiting is not counted as a crash loop."""
MAX_CRASHES = 5
MAX_BACKOFF = 30.0
# A constant program: the entry travels as an argument, never as code.
_CALL = ("import functools, importlib, sys; module, _, name = sys.argv[1].partition(':'); "
         "functools.reduce(getattr, name.split('.'), importlib.import_module(module))()")
_COLOURS = ("cyan", "green", "magenta", "blue", "yellow", "bright_cyan", "bright_green")


class RunError(EngineError):
    """The project cannot be run: its code, its resources or a service cannot start."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__(message)


# -- output ---------------------------------------------------------------------------------

class Printer:
    """Lines of every process, each prefixed with its service's name, aligned; coloured on a
    terminal. One lock: lines of two services never interleave within a line."""

    def __init__(self, names: Iterable[str], *, colour: bool | None = None) -> None:
        self.names = ["infrar", *names]
        self.width = max(len(n) for n in self.names)
        self.colour = sys.stdout.isatty() if colour is None else colour
        self._lock = threading.Lock()

    def line(self, name: str, text: str, *, err: bool = False) -> None:
        prefix = name.ljust(self.width)
        if self.colour:
            index = self.names.index(name) if name in self.names else 0
            prefix = click.style(prefix, fg=_COLOURS[(index - 1) % len(_COLOURS)],
                                 bold=index == 0)
        with self._lock:
            click.echo(f"{prefix} | {text}", err=err, color=self.colour)

    def say(self, text: str) -> None:
        self.line("infrar", text, err=True)


# -- the transformed tree and its resources -------------------------------------------------

@dataclass
class LocalProject:
    """The project as `infrar run` builds it: the target, the source roots, the build folder
    and the environment every process gets."""

    target: Target
    roots: list[Path]
    environ: dict[str, str]

    @property
    def root(self) -> Path:
        return self.target.config.root.resolve()

    @property
    def build_dir(self) -> Path:
        return self.root / RUN_DIR / PROVIDER

    @property
    def local_root(self) -> Path:
        return Path(self.environ["INFRAR_LOCAL_ROOT"])

    def build(self) -> set[str]:
        """Transform the sources into the build folder; the relative paths that changed."""
        from infrar.cli.hook_commands import leftover_files, remove_files
        from infrar.engine.files import write_tree
        from infrar.engine.pipeline import run_pipeline

        result = run_pipeline(self.roots, config=self.target.config,
                              targets={self.target.environment: self.target},
                              exclude=self.root / RUN_DIR)
        if not result.ok:
            raise RunError(f"{len(result.errors)} problem(s) in the code", result.diagnostics)
        build = result.builds.get(PROVIDER)
        expected = {Path(PROVIDER) / p: d for p, d in (build.files if build else {}).items()}
        out = self.build_dir.parent
        changed = {p: d for p, d in expected.items()
                   if not (out / p).is_file() or (out / p).read_bytes() != d}
        leftovers = leftover_files(expected, out)
        write_tree(out, changed)
        remove_files(out, leftovers)
        return {p.relative_to(PROVIDER).as_posix() for p in [*changed, *leftovers]}

    def ensure_resources(self, say: Callable[[str], None], *, always: bool) -> None:
        """Plan the local resources the code uses and apply the plan when it changes
        anything, in the folder `infrar apply` uses. Without `always`, only when the
        generated Terraform differs from what was last run there."""
        from infrar.engine.infra.runs import (
            GenerationFailed,
            changed_files,
            prepare_run,
            run_apply,
            run_plan,
        )
        from infrar.engine.terraform import (
            OfflineSetupError,
            StalePlanError,
            TerraformError,
            TerraformNotFoundError,
        )

        try:
            prepared = prepare_run(self.target, self.roots, environ=self.environ)
            if not always and not changed_files(prepared.workdir, prepared.generation.files):
                return
            outcome = run_plan(prepared.generation, workdir=prepared.workdir, env=prepared.env)
            if outcome.summary.no_changes:
                say(f"local resources up to date ({self.local_root})")
                return
            say(f"local resources: {outcome.summary.headline}")
            run_apply(prepared.generation, workdir=prepared.workdir, env=prepared.env)
            say(f"local resources ready ({self.local_root})")
        except GenerationFailed as exc:
            raise RunError("the code has problems", exc.diagnostics) from None
        except (TerraformError, StalePlanError, TerraformNotFoundError,
                OfflineSetupError) as exc:
            raise RunError(f"the local resources could not be made: {exc}") from None

    def source_snapshot(self) -> dict[Path, tuple[int, int]]:
        """Each watched file's modification time and size: the sources and the configuration."""
        from infrar.engine.files import python_files

        files = [f for f, _ in python_files(self.roots)
                 if not f.resolve().is_relative_to(self.root / RUN_DIR)]
        if self.target.config.path is not None:
            files.append(self.target.config.path)
        snapshot = {}
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue
            snapshot[file] = (stat.st_mtime_ns, stat.st_size)
        return snapshot

    def affected(self, services: Iterable[ServiceConfig], changed: set[str]) -> list[str]:
        """The services whose code is among the `changed` paths of the build folder: the
        modules reachable from each entry point (every service, when the native package or
        the requirements changed, a module was removed, or the start cannot be known)."""
        from infrar.engine.native import PACKAGE
        from infrar.engine.services import reachable_modules
        from infrar.engine.tree import SourceTree, module_name

        services = list(services)
        if any(p.split("/")[0] == PACKAGE or "/" not in p and not p.endswith(".py")
               for p in changed):
            return [s.name for s in services]
        modules = {module_name(PurePosixPath(p)) for p in changed}
        tree = SourceTree([self.build_dir])
        if not modules <= set(tree.by_module):  # a module removed: whoever imported it fails
            return [s.name for s in services]
        found = []
        for service in services:
            reach = reachable_modules(service, tree, base=self.build_dir)
            if reach.whole_paths or modules & set(reach.modules):
                found.append(service.name)
        return found


def process_environment(project_root: Path, environment: str, build_dir: Path,
                        environ: dict[str, str]) -> dict[str, str]:
    """What every process of `infrar run` gets: the caller's environment, the transformed tree
    first on PYTHONPATH, the environment's name and the local root (the caller's
    INFRAR_LOCAL_ROOT, else the project's `.infrar/local`, which Terraform makes too)."""
    env = dict(environ)
    local_root = Path(env.get("INFRAR_LOCAL_ROOT") or project_root / ".infrar" / "local")
    if not local_root.is_absolute():
        local_root = project_root / local_root
    earlier = env.get("PYTHONPATH")
    env.update({
        "INFRAR_ENVIRONMENT": environment,
        "INFRAR_PROVIDER": PROVIDER,
        "INFRAR_LOCAL_ROOT": str(local_root),
        "PYTHONPATH": os.pathsep.join([str(build_dir), *([earlier] if earlier else [])]),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def service_argv(service: ServiceConfig, python: str = sys.executable) -> list[str]:
    """The argument list that starts `service`: waitress (wsgi) or uvicorn (asgi) serving an
    http entry on its port, a call of a worker's or schedule's entry, or its command (a
    leading `python` is this Python, the one Infrar and the server run on)."""
    if service.command:
        first, *rest = service.command
        return [python if first in ("python", "python3") else first, *rest]
    entry = service.entry or ""
    if service.kind != "http":
        return [python, "-c", _CALL, entry]
    if service.interface == "asgi":
        if importlib.util.find_spec("uvicorn") is None:
            raise RunError(f"service {service.name!r} is an asgi application, served with "
                           "uvicorn, which is not installed: pip install uvicorn")
        return [python, "-m", "uvicorn", entry, "--host", HOST, "--port", str(service.port)]
    if importlib.util.find_spec("waitress") is None:
        raise RunError(f"service {service.name!r} is a wsgi application, served with waitress, "
                       "which is not installed: pip install 'infrar[local] @ "
                       "git+https://github.com/infrar/infrar@<release tag>' (docs/install.md)")
    return [python, "-m", "waitress", f"--listen={HOST}:{service.port}", entry]


def refuse_ports_in_use(services: Iterable[ServiceConfig]) -> None:
    """Stop when another program already listens on an http service's port: the health checks
    would ask that program."""
    taken = []
    for service in services:
        if service.kind != "http":
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            if probe.connect_ex((HOST, service.port)) == 0:
                taken.append(f"{service.name} (port {service.port})")
    if taken:
        raise RunError(f"another program listens on the port of {', '.join(taken)}: "
                       "stop it, or give the service another `port:`")


# -- processes ------------------------------------------------------------------------------

@dataclass
class Process:
    """One started process of a service, its output forwarded line by line."""

    name: str
    popen: subprocess.Popen[bytes]
    started: float
    readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(cls, name: str, argv: list[str], *, cwd: Path, env: dict[str, str],
              printer: Printer) -> Process:
        popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
        process = cls(name, popen, time.monotonic())
        for stream, err in ((popen.stdout, False), (popen.stderr, True)):
            reader = threading.Thread(target=_forward, args=(stream, name, printer, err),
                                      daemon=True)
            reader.start()
            process.readers.append(reader)
        return process

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.popen.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def finish(self) -> None:
        """After the process exited: end what it left in its group, drain its output."""
        self.signal_group(signal.SIGKILL)
        for reader in self.readers:
            reader.join(timeout=2)


def _forward(stream: IO[bytes] | None, name: str, printer: Printer, err: bool) -> None:
    if stream is None:
        return
    with stream:
        for raw in stream:
            printer.line(name, raw.decode("utf-8", "replace").rstrip("\r\n"), err=err)


def stop_all(processes: list[Process], timeout: float = STOP_TIMEOUT) -> list[str]:
    """SIGTERM to every process group, wait, SIGKILL what is left; the names killed."""
    for process in processes:
        process.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    killed = [p.name for p in processes if p.alive()]
    for process in processes:
        process.signal_group(signal.SIGKILL)
        process.popen.wait()
        process.finish()
    return killed


# -- supervision ----------------------------------------------------------------------------

@dataclass
class ServiceState:
    service: ServiceConfig
    argv: list[str]
    process: Process | None = None
    crashes: int = 0
    restart_at: float | None = None
    gave_up: bool = False
    healthy: bool | None = None
    next_health: float = 0.0
    reported_slow: bool = False
    next_run: datetime | None = None


def next_run(schedule: str, after: datetime) -> datetime:
    """The first time after `after` that the five-field `schedule` names (UTC)."""
    from croniter import croniter

    found: datetime = croniter(schedule, after).get_next(datetime)
    return found


def backoff(crashes: int) -> float:
    """Seconds before restarting after the `crashes`-th crash in a row: 1, 2, 4, ... 30."""
    return float(min(2 ** max(0, crashes - 1), MAX_BACKOFF))


class Supervisor:
    def __init__(self, project: LocalProject, services: list[ServiceConfig], printer: Printer,
                 *, trigger: Iterable[str] = ()) -> None:
        self.project = project
        self.printer = printer
        self.states = {s.name: ServiceState(s, service_argv(s)) for s in services}
        self.trigger = list(trigger)
        self.runs: dict[str, Process] = {}
        self.stopping = threading.Event()
        self.snapshot = project.source_snapshot()
        self.next_watch = time.monotonic() + WATCH_INTERVAL

    def say(self, text: str) -> None:
        self.printer.say(text)

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        now = datetime.now(timezone.utc)
        for state in self.states.values():
            if state.service.kind == "schedule":
                state.next_run = next_run(state.service.schedule or "", now)
                self.say(f"{state.service.name}: next run at {_when(state.next_run)} "
                         f"({state.service.schedule})")
            else:
                self._start(state)
        for name in self.trigger:
            self._run_schedule(self.states[name], "triggered")
        while not self.stopping.is_set():
            self._tick()
            self.stopping.wait(TICK)
        return self._stop()

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping.set()

    def _tick(self) -> None:
        monotonic = time.monotonic()
        self._reap(monotonic)
        self._schedules(datetime.now(timezone.utc))
        self._health(monotonic)
        if monotonic >= self.next_watch:
            self._watch()
            self.next_watch = time.monotonic() + WATCH_INTERVAL

    def _start(self, state: ServiceState) -> None:
        name = state.service.name
        try:
            state.process = Process.start(name, state.argv, cwd=self.project.build_dir,
                                          env=self.project.environ, printer=self.printer)
        except OSError as exc:
            state.process = None
            self.say(f"{name}: cannot start {state.argv[0]}: {exc.strerror or exc}")
            self._crashed(state, time.monotonic(), ran=0.0)
            return
        state.healthy, state.reported_slow = None, False
        state.next_health = time.monotonic() + STARTUP_HEALTH_INTERVAL
        where = f" on http://{HOST}:{state.service.port}" if state.service.kind == "http" else ""
        self.say(f"{name}: started (pid {state.process.popen.pid}){where}")

    def _reap(self, monotonic: float) -> None:
        for state in self.states.values():
            process = state.process
            if process is not None and not process.alive():
                process.finish()
                state.process = None
                code = process.popen.returncode
                self.say(f"{state.service.name}: exited with code {code}")
                self._crashed(state, monotonic, ran=monotonic - process.started)
            if state.restart_at is not None and monotonic >= state.restart_at:
                state.restart_at = None
                self._start(state)
        for name, run in list(self.runs.items()):
            if not run.alive():
                run.finish()
                del self.runs[name]
                took = time.monotonic() - run.started
                outcome = "finished" if run.popen.returncode == 0 else \
                    f"failed with code {run.popen.returncode}"
                self.say(f"{name}: run {outcome} ({took:.1f} s)")

    def _crashed(self, state: ServiceState, monotonic: float, *, ran: float) -> None:
        state.crashes = 1 if ran >= STABLE_AFTER else state.crashes + 1
        name = state.service.name
        if state.crashes >= MAX_CRASHES:
            state.gave_up = True
            self.say(f"{name}: crashed {state.crashes} times in a row; not restarting it "
                     "until its code changes")
            return
        delay = backoff(state.crashes)
        state.restart_at = monotonic + delay
        self.say(f"{name}: restarting in {delay:.0f} s")

    def _schedules(self, now: datetime) -> None:
        for state in self.states.values():
            if state.next_run is not None and now >= state.next_run:
                self._run_schedule(state, f"scheduled for {_when(state.next_run)}")
                state.next_run = next_run(state.service.schedule or "", now)

    def _run_schedule(self, state: ServiceState, why: str) -> None:
        name = state.service.name
        if name in self.runs:
            self.say(f"{name}: the previous run is still going; skipped the run {why}")
            return
        try:
            self.runs[name] = Process.start(name, state.argv, cwd=self.project.build_dir,
                                            env=self.project.environ, printer=self.printer)
        except OSError as exc:
            self.say(f"{name}: cannot start {state.argv[0]}: {exc.strerror or exc}")
            return
        self.say(f"{name}: run started ({why}, pid {self.runs[name].popen.pid})")

    def _health(self, monotonic: float) -> None:
        for state in self.states.values():
            service = state.service
            if service.kind != "http" or state.process is None or monotonic < state.next_health:
                continue
            problem = health_problem(service.port, service.health)
            if problem is None:
                if state.healthy is not True:
                    again = " again" if state.healthy is False else ""
                    self.say(f"{service.name}: healthy{again} (GET {service.health})")
                state.healthy, state.next_health = True, monotonic + HEALTH_INTERVAL
                continue
            if state.healthy is None:
                state.next_health = monotonic + STARTUP_HEALTH_INTERVAL
                ran = monotonic - state.process.started
                if ran >= HEALTH_GRACE and not state.reported_slow:
                    state.reported_slow = True
                    self.say(f"{service.name}: not healthy after {ran:.0f} s: {problem}")
                continue
            if state.healthy:
                self.say(f"{service.name}: unhealthy: {problem}")
            state.healthy, state.next_health = False, monotonic + HEALTH_INTERVAL

    def _watch(self) -> None:
        snapshot = self.project.source_snapshot()
        if snapshot == self.snapshot:
            return
        config = self.project.target.config.path
        config_changed = snapshot.get(config) != self.snapshot.get(config) if config else False
        self.snapshot = snapshot
        if config is not None and config_changed:
            self.say(f"{config.name} changed: stop and start `infrar run` again to use it")
        try:
            changed = self.project.build()
            if not changed:
                return
            self.say(f"code changed: {', '.join(sorted(changed))}")
            self.project.ensure_resources(self.say, always=False)
        except RunError as exc:
            for diagnostic in exc.diagnostics:
                self.say(str(diagnostic))
            self.say(f"{exc}; the services keep running the code they started with")
            return
        running = [s for s in self.states.values() if s.service.kind != "schedule"]
        for name in self.project.affected([s.service for s in running], changed):
            self._restart(self.states[name])

    def _restart(self, state: ServiceState) -> None:
        if state.process is not None:
            self.say(f"{state.service.name}: restarting for the new code")
            stop_all([state.process])
            state.process = None
        state.crashes, state.gave_up, state.restart_at = 0, False, None
        self._start(state)

    def _stop(self) -> int:
        processes = [s.process for s in self.states.values() if s.process is not None]
        processes += list(self.runs.values())
        self.say(f"stopping {len(processes)} process(es)")
        killed = stop_all(processes)
        if killed:
            self.say(f"killed after {STOP_TIMEOUT:.0f} s: {', '.join(killed)}")
        self.say("stopped")
        return 0


def health_problem(port: int, path: str, timeout: float = 1.0) -> str | None:
    """None when GET `path` on the local port answers 2xx; else what went wrong."""
    url = f"http://{HOST}:{port}{path}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        with direct.open(url, timeout=timeout) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        return f"GET {path} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return f"GET {path}: {getattr(exc, 'reason', exc)}"
    return None if 200 <= status < 300 else f"GET {path} answered {status}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
