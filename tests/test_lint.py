"""Type hints everywhere; ruff and mypy clean. Their settings live in pyproject.toml.

ruff checks the code, the benchmarks and the tests (not the golden data). mypy checks the
`infrar` package, which it cannot find through the editable install: an import hook maps
`infrar.*` onto sdk/, engine/, cli/, app/ and providers/. So the package is laid out as
setup.py's PACKAGE_DIR says, as links to the sources, under .mypy_cache/ (ignored by git,
next to mypy's own cache), and mypy checks it there; findings name the real files.

`python tests/test_lint.py` prints the findings of both.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - mypy depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUFF_PATHS = ("sdk", "engine", "cli", "app", "bench", "tests")
MIRROR = Path(PYPROJECT["tool"]["mypy"]["mypy_path"].replace("$MYPY_CONFIG_FILE_DIR", str(ROOT)))
SOURCE_SUFFIXES = (".py", ".pyi")


def _package_folder(package: str, package_dir: dict[str, str]) -> Path:
    """The folder setuptools installs `package` from: the longest mapped prefix wins."""
    parts = package.split(".")
    for cut in range(len(parts), -1, -1):
        prefix = ".".join(parts[:cut])
        if prefix in package_dir:
            return ROOT / package_dir[prefix] / Path(*parts[cut:])
    return ROOT / Path(*parts)


def _packaging() -> Any:
    """setup.py, which finds the packages and maps them onto their folders."""
    spec = importlib.util.spec_from_file_location("infrar_packaging", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mirror_package() -> Path:
    """Bring the tree of links under MIRROR up to date with the sources; return MIRROR.

    Only stale entries are removed, so a concurrent run never sees the tree half built."""
    layout = _packaging()
    package_dir: dict[str, str] = layout.PACKAGE_DIR
    wanted: dict[Path, str] = {}
    for package in layout.packages():
        folder = _package_folder(package, package_dir)
        target = MIRROR.joinpath(*package.split("."))
        for source in folder.iterdir():
            if source.suffix in SOURCE_SUFFIXES and source.is_file():
                link = target / source.name
                wanted[link] = os.path.relpath(source, link.parent)
    if MIRROR.exists():
        for path in sorted(MIRROR.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # a concurrent run got there first
                if path.is_symlink() or path.is_file():
                    if not (path.is_symlink() and wanted.get(path) == os.readlink(path)):
                        path.unlink()
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
    for link, relative in wanted.items():
        if link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # made by a concurrent run, alike
            link.symlink_to(relative)
    return MIRROR


def _real_paths(output: str) -> str:
    """Name the real source files rather than their links in the mirror."""
    mirror = re.escape(os.path.relpath(MIRROR, ROOT).replace(os.sep, "/"))

    def real(match: re.Match[str]) -> str:
        return os.path.relpath(os.path.realpath(ROOT / match.group(0)), ROOT)

    return re.sub(rf"^{mirror}/\S+?\.pyi?(?=:)", real, output, flags=re.MULTILINE)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def run_ruff() -> tuple[int, str]:
    done = _run("ruff", "check", "--output-format", "concise", *RUFF_PATHS)
    return done.returncode, done.stdout + done.stderr


def run_mypy() -> tuple[int, str]:
    mirror_package()
    done = _run("mypy")
    return done.returncode, _real_paths(done.stdout + done.stderr)


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (it is in the `test` extra)")


def test_ruff_finds_nothing() -> None:
    _require("ruff")
    code, output = run_ruff()
    assert code == 0, f"ruff check {' '.join(RUFF_PATHS)}:\n{output}"


def test_mypy_finds_nothing() -> None:
    _require("mypy")
    code, output = run_mypy()
    assert code == 0, f"mypy (infrar package):\n{output}"


def test_mirror_names_real_files() -> None:
    mirror_package()
    line = f"{os.path.relpath(MIRROR, ROOT)}/infrar/engine/transform.py:3: error: x  [misc]"
    assert _real_paths(line) == f"{Path('engine', 'transform.py')}:3: error: x  [misc]"
    assert (MIRROR / "infrar" / "storage" / "__init__.py").resolve() == \
        ROOT / "sdk" / "storage" / "__init__.py"


if __name__ == "__main__":
    failed = False
    for name, lint in (("ruff", run_ruff), ("mypy", run_mypy)):
        code, output = lint()
        print(f"== {name}\n{output}", end="" if output.endswith("\n") else "\n")
        failed = failed or code != 0
    sys.exit(1 if failed else 0)
