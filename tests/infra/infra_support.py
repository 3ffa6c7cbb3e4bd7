"""Constants and helpers the infrastructure tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

PROVIDERS_DIR = Path(__file__).resolve().parents[2] / "providers"
CLOUDS = ("aws", "gcp", "azure")
ALL_PROVIDERS = ("local", *CLOUDS)

APP = '''\
"""A program that uses every storage operation."""
import os

from infrar.storage import (copy, delete, download, exists, generate_signed_url, get_metadata,
                            list_objects, read, upload, write)


def main(workdir):
    write("uploads", "hello.txt", "hello")
    assert read("uploads", "hello.txt") == b"hello"
    assert exists("uploads", "hello.txt")
    assert get_metadata("uploads", "hello.txt").size == 5
    source = os.path.join(workdir, "report.csv")
    with open(source, "w") as handle:
        handle.write("a,b\\n")
    upload("reports", source, "2024/report.csv")
    download("reports", "2024/report.csv", os.path.join(workdir, "copy.csv"))
    assert list_objects("reports", prefix="2024/") == ["2024/report.csv"]
    copy("uploads", "hello.txt", "hello.txt", destination_bucket="archive")
    delete("archive", "hello.txt")
    return generate_signed_url("uploads", "hello.txt")


if __name__ == "__main__":
    import sys
    print(main(sys.argv[1]))
'''

CONFIG = """\
version: 1
project: photo-app
provider: local
naming: "{project}-{environment}-{name}"
environments:
  dev:
    apply_requirements: [approved]
  production:
    provider: aws
    region: eu-west-1
    apply_on_merge: true
    apply_requirements: [approved, mergeable]
"""


def copy_provider(name: str, destination: Path) -> Path:
    """A copy of a built-in provider, to break or extend in a test."""
    target = destination / name
    shutil.copytree(PROVIDERS_DIR / name, target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def environment_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


BLOCKER_MESSAGE = "infrar is blocked: transformed code must not import it"


def write_blocker(folder: Path) -> Path:
    """A folder whose `infrar` package refuses to import: first on PYTHONPATH, it proves a
    transformed program runs without the SDK (as tests/conformance does)."""
    (folder / "infrar").mkdir(parents=True, exist_ok=True)
    (folder / "infrar" / "__init__.py").write_text(f"raise ImportError({BLOCKER_MESSAGE!r})\n")
    return folder


def native_names(tree: Path) -> dict[str, dict[str, dict[str, str]]]:
    """The name table of a transformed tree (`infrar_native/resources.py`): environment ->
    resource kind -> logical name -> physical name. Read, not imported."""
    module = ast.parse((tree / "infrar_native" / "resources.py").read_text(encoding="utf-8"))
    for node in module.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == "NAMES" and node.value is not None:
            names: dict[str, dict[str, dict[str, str]]] = ast.literal_eval(node.value)
            return names
    raise AssertionError(f"no NAMES table in {tree}/infrar_native/resources.py")
