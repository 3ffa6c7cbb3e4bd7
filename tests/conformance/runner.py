"""What the conformance modules share: running a program in a clean environment, running
`infrar transform`, the `infrar` package that refuses to import, and comparing transcripts.

Each capability's module keeps what is its own: its programs, its backends, and the variables
that could point its runs at another service (`FOREIGN_VARIABLES` below is what they all drop).
"""

from __future__ import annotations

import ast
import difflib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
RUN_TIMEOUT = 120
BLOCKER_MESSAGE = "infrar is blocked: transformed code must not import it"
# Variables that could point a run at another backend or account than the one under test;
# each capability adds the endpoints and accounts of its own services.
FOREIGN_VARIABLES = frozenset({
    "INFRAR_PROVIDER", "INFRAR_LOCAL_ROOT", "INFRAR_PLUGIN_PATH", "INFRAR_ENVIRONMENT",
    "PYTHONPATH",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION",
    "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
    "AZURE_STORAGE_CONNECTION_STRING",
})
THIRD_PARTY = ("boto3", "botocore", "google", "azure", "jinja2", "yaml")
"""Top-level modules importing the SDK must not load."""


def clean_env(extra: dict[str, str], foreign: Collection[str],
              prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment without the `foreign` variables (nor any that start with
    one of `prefixes`), in UTF-8, with no proxy for loopback, and `extra` on top."""
    env = {k: v for k, v in os.environ.items()
           if k not in foreign and not (prefixes and k.startswith(prefixes))}
    env.update({"PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    env.update(extra)
    return env


def environment_without(*foreign: str, prefixes: tuple[str, ...] = ()
                        ) -> Callable[[dict[str, str]], dict[str, str]]:
    """`clean_env` dropping `foreign` (and those starting with `prefixes`) beside the shared
    FOREIGN_VARIABLES: a capability's clean environment, given what the run adds."""
    dropped = FOREIGN_VARIABLES | set(foreign)
    return lambda extra: clean_env(extra, dropped, prefixes)


def fresh_name(prefix: str, digits: int) -> str:
    """A resource name no other test uses: `prefix` and `digits` random hex digits."""
    return f"{prefix}{uuid.uuid4().hex[:digits]}"


class _Stoppable(Protocol):
    def stop(self) -> object: ...


_S = TypeVar("_S", bound=_Stoppable)


def until_stopped(server: _S) -> Iterator[_S]:
    """A fixture's body for a started server: it serves the tests, then stops."""
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def run(command: list[str], env: dict[str, str], cwd: Path, *,
        timeout: float = RUN_TIMEOUT) -> Run:
    completed = subprocess.run(command, check=False, capture_output=True, timeout=timeout,
                               env=env, cwd=cwd)
    return Run(completed.returncode, completed.stdout.decode("utf-8"),
               completed.stderr.decode("utf-8", "replace"))


def run_python(arguments: list[str], env: dict[str, str], cwd: Path, *,
               pythonpath: Path | None = None, timeout: float = RUN_TIMEOUT) -> Run:
    """This interpreter with `arguments`, PYTHONPATH set to `pythonpath` where one is given."""
    if pythonpath is not None:
        env = {**env, "PYTHONPATH": str(pythonpath)}
    return run([sys.executable, *arguments], env, cwd, timeout=timeout)


def make_blocker(folder: Path) -> Path:
    """`folder` holding an `infrar` package that refuses to import: first on PYTHONPATH, it
    hides ours."""
    (folder / "infrar").mkdir()
    (folder / "infrar" / "__init__.py").write_text(f"raise ImportError({BLOCKER_MESSAGE!r})\n")
    return folder


def infrar_command() -> list[str]:
    script = Path(sys.executable).with_name("infrar")
    found = str(script) if script.exists() else shutil.which("infrar")
    if found is None:
        pytest.fail("the `infrar` command is not installed next to the test interpreter")
    return [found]


def transform(source: Path, provider: str, out: Path, env: dict[str, str], *,
              timeout: float = RUN_TIMEOUT) -> Path:
    """`infrar transform --provider P --out OUT SOURCE`; the folder it wrote, OUT/P."""
    completed = run([*infrar_command(), "transform", "--provider", provider, "--out", str(out),
                     str(source)], env, out.parent, timeout=timeout)
    assert completed.returncode == 0, completed.stderr
    return out / provider


class Memo(dict):  # type: ignore[type-arg]
    """A dict that computes a missing entry once, on first use."""

    def __init__(self, compute: Callable[[str], object]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: str) -> object:
        value = self[key] = self.compute(key)
        return value


def imported_modules(script: Path) -> set[str]:
    tree = ast.parse(script.read_bytes())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


def infrar_imports(script: Path) -> set[str]:
    """The modules of the `infrar` package `script` imports."""
    return {m for m in imported_modules(script) if m.split(".")[0] == "infrar"}


def name_table(tree: Path) -> object:
    """The NAMES literal of the generated `infrar_native/resources.py`."""
    module = ast.parse((tree / "infrar_native" / "resources.py").read_bytes())
    for stmt in module.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                and stmt.target.id == "NAMES" and stmt.value is not None:
            return ast.literal_eval(stmt.value)
    raise AssertionError("resources.py has no NAMES table")


def assert_same(expected: str, result: Run, label: str) -> None:
    assert result.returncode == 0, f"{label} failed:\n{result.stderr}\n{result.stdout}"
    if result.stdout != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), result.stdout.splitlines(True),
            fromfile="local SDK", tofile=label))
        pytest.fail(f"{label} differs from the local SDK transcript:\n{diff}", pytrace=False)


def assert_pinned(transcript: str, pinned: Path) -> list[str]:
    """`transcript` is the one pinned in `pinned` (written there first with
    INFRAR_UPDATE_GOLDEN=1); its lines."""
    if UPDATE:
        pinned.parent.mkdir(exist_ok=True)
        pinned.write_text(transcript, encoding="utf-8")
    assert pinned.exists(), f"{pinned.name} is missing; generate it with INFRAR_UPDATE_GOLDEN=1"
    assert transcript == pinned.read_text(encoding="utf-8"), (
        f"the local SDK no longer prints {pinned.name}; if intended, regenerate it with "
        "INFRAR_UPDATE_GOLDEN=1 and review the diff")
    return transcript.splitlines()


def assert_loads_no_third_party(imports: str, env: dict[str, str], cwd: Path,
                                third_party: tuple[str, ...] = THIRD_PARTY) -> None:
    """A run of `imports` loads none of the modules `third_party` names."""
    check = (f"import sys\n{imports}"
             "loaded = {m.split('.')[0] for m in sys.modules}\n"
             f"print(sorted(loaded & {set(third_party)!r}))\n")
    result = run_python(["-c", check], env, cwd)
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr


def assert_transformed_prints(expected: str, script: Path, run_script: Callable[..., Run],
                              blocker: Path, label: str) -> None:
    """The transformed `script` imports no `infrar` and, run by `run_script` with the
    blocker first on PYTHONPATH, prints `expected`."""
    assert not infrar_imports(script)
    assert_same(expected, run_script(script, pythonpath=blocker), label)


def assert_imports_unconfigured(lazy: tuple[str, str, str], provider: str,
                                         folder: Path, blocker: Path,
                                         clean: Callable[[dict[str, str]], dict[str, str]]
                                         ) -> None:
    """Clients are created on first use: importing needs no credentials, endpoint or region.
    `lazy` is (module, function, source): the module, transformed for `provider` into
    `folder`, imports with nothing configured and no Infrar, and the function is there."""
    module, function, code = lazy
    source = folder / "src"
    source.mkdir()
    (source / f"{module}.py").write_text(code)
    out = transform(source, provider, folder / "out", clean({}))
    result = run_python(["-c", f"import {module}; print(callable({module}.{function}))"],
                        clean({"PYTHONPATH": str(blocker)}), out)
    assert (result.returncode, result.stdout) == (0, "True\n"), result.stderr


def transformed_programs(programs: Path, factory: pytest.TempPathFactory, prefix: str,
                         env: dict[str, str], *, timeout: float = RUN_TIMEOUT) -> Memo:
    """Provider -> the folder `infrar transform --provider P --out` wrote `programs` to, each
    transformed on first use into a fresh folder named after `prefix`."""
    return Memo(lambda provider: transform(
        programs, provider, factory.mktemp(f"{prefix}-{provider}") / "out", env,
        timeout=timeout))


def reference_transcripts(run_local: Callable[[str], Run]) -> Memo:
    """Program -> what `run_local(program)`, the SDK on the local backend, prints (it must
    succeed): every run must print the same."""

    def compute(program: str) -> str:
        result = run_local(program)
        assert result.returncode == 0, result.stderr
        return result.stdout

    return Memo(compute)
