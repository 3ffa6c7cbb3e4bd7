"""How long the `infrar-check` hook takes on a typical commit, against `import libcst`.

A repository of a few hundred Python files (a fifth of them use the SDK) gets a commit that
touches a handful; `infrar check` runs on those files, as pre-commit would run it, for the
providers in .infrar.yaml. The yardstick, timed in the same run on the same machine, is the
bare start-up of a Python process that imports libcst (what a libcst-based hook would pay before
doing any work). The check remembers valid configuration and rules and compiled templates in
the user's cache folder: it is timed with that cache filled by an earlier commit (as on every
commit but the first) and empty. Also checks, with -X importtime, that the hook imports nothing
it does not need.

    python bench/hook_bench.py [--files 300] [--changed 6] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SDK_MODULE = '''"""Module {i}: stores thumbnails."""
from infrar.storage import exists, list_objects, read, write


def save_{i}(name: str, data: bytes) -> None:
    if not exists("photos", f"thumbs/{{name}}"):
        write("photos", f"thumbs/{{name}}", data, content_type="image/jpeg")


def names_{i}() -> list[str]:
    return [key for key in list_objects("photos", prefix="thumbs/") if key.endswith(".jpg")]


def load_{i}(name: str) -> bytes:
    return read("photos", f"thumbs/{{name}}")
'''
PLAIN_MODULE = '''"""Module {i}: plain helpers."""
import dataclasses


@dataclasses.dataclass
class Record{i}:
    name: str
    size: int

    def label(self) -> str:
        return f"{{self.name}} ({{self.size}} bytes)"


def total_{i}(records: list[Record{i}]) -> int:
    return sum(r.size for r in records)
'''
# Nothing the check needs; the App's, the cloud SDKs', or a second parser.
FORBIDDEN = ("flask", "github", "huey", "sqlalchemy", "redis", "psycopg", "cryptography",
             "git", "waitress", "gunicorn", "boto3", "botocore", "google", "azure", "libcst",
             "requests", "urllib3", "infrar.app", "infrar.engine.terraform")


def make_repository(root: Path, files: int) -> list[Path]:
    (root / ".git").mkdir(parents=True)  # where .infrar.yaml lookup stops
    (root / ".infrar.yaml").write_text(
        "version: 1\nprovider: aws\nenvironments:\n  dev:\n    provider: local\n"
        "  prod:\n    provider: gcp\n")
    made = []
    for i in range(files):
        package = root / "src" / f"pkg{i // 25}"
        package.mkdir(parents=True, exist_ok=True)
        path = package / f"mod{i}.py"
        path.write_text((SDK_MODULE if i % 5 == 0 else PLAIN_MODULE).format(i=i))
        made.append(path)
    return made


def timed(command: list[str], cwd: Path, runs: int, *,
          emptied: Path | None = None) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds, after one warm-up run; `emptied` is removed
    before each run. CPU time is the steadier figure on a shared machine."""
    walls, cpus = [], []
    for n in range(runs + 1):
        if emptied is not None:
            shutil.rmtree(emptied, ignore_errors=True)
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


def imported_modules(command: list[str], cwd: Path) -> set[str]:
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], cwd=cwd,
                          check=False, capture_output=True, text=True)
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--changed", type=int, default=6)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="infrar-hook-bench-"))
    root, cache = base / "repository", base / "cache"
    os.environ["XDG_CACHE_HOME"] = str(cache)  # the runs' own, not the user's
    try:
        files = make_repository(root, args.files)
        # A typical commit: a couple of files that use the SDK among plain ones.
        touched = [str(p.relative_to(root)) for p in files[:args.changed * 2:2]]
        plain = [str(p.relative_to(root)) for i, p in enumerate(files) if i % 5][:args.changed]
        entry = "from infrar.cli.check import main; main()"  # the hook's `infrar-check`
        check = [sys.executable, "-c", entry, *touched]
        rows = {
            "python -c pass": timed([sys.executable, "-c", "pass"], root, args.runs),
            "python -c 'import libcst'": timed([sys.executable, "-c", "import libcst"], root,
                                               args.runs),
            "infrar-check, commit using the SDK": timed(check, root, args.runs),
            "infrar-check, using the SDK, no cache": timed(check, root, args.runs,
                                                           emptied=cache),
            "infrar-check, commit not using it": timed([sys.executable, "-c", entry, *plain],
                                                       root, args.runs),
        }
        leaked = sorted(m for m in imported_modules(check, root)
                        if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    uses = sum(1 for i in range(0, args.changed * 2, 2) if i % 5 == 0)
    print(f"repository: {args.files} Python files; commit: {len(touched)} files ({uses} using "
          f"the SDK); providers: aws, local, gcp; median of {args.runs} runs")
    print(f"{'':40} {'wall ms':>8} {'cpu ms':>8}")
    for name, (wall, cpu) in rows.items():
        print(f"{name:40} {wall * 1000:8.1f} {cpu * 1000:8.1f}")
    libcst_wall, libcst_cpu = rows["python -c 'import libcst'"]
    for name in list(rows)[2:]:
        wall, cpu = rows[name]
        print(f"ratio {name} / import libcst: wall {wall / libcst_wall:.2f}, "
              f"cpu {cpu / libcst_cpu:.2f}")
    print(f"imports of unneeded packages: {', '.join(leaked) or 'none'}")
    if leaked:
        raise SystemExit(1)

if __name__ == "__main__":
    main()
