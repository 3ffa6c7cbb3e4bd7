"""How long `infrar` takes to start, against `python -c "import click"`.

The yardstick, timed in the same run on the same machine, is a Python process that imports
click and nothing else: the least a click command line can cost. Timed: `infrar --help`, and
`infrar transform FILE --check` on a file that does not mention `infrar` (nothing to rewrite,
so nothing of the engine should load). Also checks, with -X importtime, that `infrar --help`
imports none of the packages only commands need.

    python bench/cli_startup_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What `infrar --help` must not import: the engine's validators and templates, the App's, the
# cloud SDKs.
FORBIDDEN = ("jsonschema", "jinja2", "yaml", "flask", "github", "huey", "sqlalchemy", "boto3")
TARGET_RATIO = 2.0


def infrar_command() -> list[str]:
    """The `infrar` console script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).parent / "infrar"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from infrar.cli.main import main; main()"]


def timed(command: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds, after one warm-up run. CPU time is the
    steadier figure on a shared machine."""
    walls, cpus = [], []
    for n in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, check=False, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
        if n:
            walls.append(elapsed)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def imported_modules(args: list[str], cwd: Path,
                     env: dict[str, str] | None = None) -> set[str]:
    """The modules `infrar ARGS` imports, from -X importtime."""
    entry = "import sys; from infrar.cli.main import main; sys.argv[0] = 'infrar'; main()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", entry, *args], cwd=cwd,
                          check=False, capture_output=True, text=True, env=env)
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def forbidden(names: set[str]) -> list[str]:
    return sorted(m for m in names if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def make_project(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)  # where the .infrar.yaml lookup stops
    # A configuration as projects have one: the command reads and checks it (from its
    # validation cache after the first run).
    (root / ".infrar.yaml").write_text(
        "version: 1\nproject: photos\nprovider: local\nenvironments:\n"
        "  staging:\n    provider: local\n  production:\n    provider: aws\n"
        "    region: eu-west-1\n")
    plain = root / "plain.py"
    plain.write_text('"""No cloud here."""\n\n\ndef add(a: int, b: int) -> int:\n'
                     '    return a + b\n')
    return plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="infrar-cli-bench-"))
    try:
        make_project(root)
        infrar = infrar_command()
        rows = {
            "python -c 'import click'": timed([sys.executable, "-c", "import click"], root,
                                              args.runs),
            "infrar --help": timed([*infrar, "--help"], root, args.runs),
            "infrar transform plain.py --check": timed([*infrar, "transform", "plain.py",
                                                        "--check"], root, args.runs),
        }
        leaked = forbidden(imported_modules(["--help"], root))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"median of {args.runs} runs; command: {' '.join(Path(c).name for c in infrar)}")
    print(f"{'':40} {'wall ms':>8} {'cpu ms':>8}")
    for name, (wall, cpu) in rows.items():
        print(f"{name:40} {wall * 1000:8.1f} {cpu * 1000:8.1f}")
    click_wall, click_cpu = rows["python -c 'import click'"]
    for name in list(rows)[1:]:
        wall, cpu = rows[name]
        print(f"ratio {name} / import click: wall {wall / click_wall:.2f}, "
              f"cpu {cpu / click_cpu:.2f} (target at most {TARGET_RATIO:.0f})")
    print(f"imports by infrar --help of {', '.join(FORBIDDEN)}: {', '.join(leaked) or 'none'}")
    if leaked:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
