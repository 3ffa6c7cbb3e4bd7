"""A source tree's modules learn from each other: a module that re-exports SDK names
(`from infrar.storage import read` in store.py) makes `from store import read; read(...)` in
another module an SDK use, even in a module that never mentions infrar. The build rewrites only
the re-exporting module; the others keep every byte and still reach the native package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrar.engine.config import load_project_config
from infrar.engine.detect import Use
from infrar.engine.native import PACKAGE
from infrar.engine.pipeline import PipelineResult, build_files, deployment_targets, run_pipeline
from infrar.engine.tree import SourceTree

STORE = 'from infrar.storage import read, write\nBUCKET = "uploads"\n'
MAIN = ('from store import read, write as save\n\n'
        'save("photos", "k", b"v")\ndata = read("photos", "k")\n')
CONFIG = """\
version: 1
project: acme
provider: local
environments:
  staging: {}
  production: {}
"""


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        data = text.encode() if isinstance(text, str) else text
        (root / relative).write_bytes(data)
    return root


def uses(root: Path) -> dict[str, list[Use]]:
    return {f.relative.as_posix(): d.uses for f, d in SourceTree([root], base=root).detect()}


def summary(found: list[Use]) -> list[tuple[str, int, int, dict[str, str | None]]]:
    return [(u.operation, u.line, u.col, u.resources) for u in found]


def pipeline(root: Path) -> PipelineResult:
    config = load_project_config(config_file=root / ".infrar.yaml")
    return run_pipeline([root], config=config, targets=deployment_targets(config))


# --- detection through re-exports -------------------------------------------------------------

def test_a_reexported_name_is_an_sdk_use_where_it_is_called(tmp_path: Path) -> None:
    found = uses(write_tree(tmp_path, {"store.py": STORE, "main.py": MAIN}))
    assert b"infrar" not in MAIN.encode()
    assert summary(found["main.py"]) == [
        ("write", 3, 1, {"bucket": "photos"}), ("read", 4, 8, {"bucket": "photos"})]
    assert found["store.py"] == []
    assert found["main.py"][0].path == "main.py"


def test_a_reexported_constant_names_the_bucket(tmp_path: Path) -> None:
    main = 'from store import BUCKET, read\nread(BUCKET, "k")\n'
    found = uses(write_tree(tmp_path, {"store.py": STORE, "main.py": main}))
    assert summary(found["main.py"]) == [("read", 2, 1, {"bucket": "uploads"})]


def test_a_relative_reexport_in_a_package(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "shop/__init__.py": "",
        "shop/store.py": "from infrar.storage import exists as has\n",
        "shop/views.py": ('from .store import has\n\n\n'
                          'def check(key):\n    return has("orders", key)\n'),
        "shop/api/__init__.py": "",
        "shop/api/routes.py": 'from ..store import has as present\npresent("carts", "k")\n'})
    found = uses(root)
    assert summary(found["shop/views.py"]) == [("exists", 5, 12, {"bucket": "orders"})]
    assert summary(found["shop/api/routes.py"]) == [("exists", 2, 1, {"bucket": "carts"})]


def test_a_loose_script_uses_its_neighbours_reexport(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"jobs/store.py": STORE,
                                 "jobs/nightly.py": 'from store import read\nread("logs", "k")\n'})
    assert summary(uses(root)["jobs/nightly.py"]) == [("read", 2, 1, {"bucket": "logs"})]


def test_the_reexporters_name_makes_a_file_worth_parsing(tmp_path: Path) -> None:
    tree = SourceTree([write_tree(tmp_path, {"store.py": STORE, "main.py": MAIN,
                                             "plain.py": "VALUE = 1\n"})])
    # main.py holds SDK names at module level too (from store), so `from main import read`
    # would reach the SDK as well: re-exports are followed to a fixed point.
    assert tree.markers() == (b"infrar", b"main", b"store")


@pytest.mark.parametrize(("store", "why"), [
    ("from infrar.storage import read\nread = None\n", "store rebinds it"),
    ("def read(bucket, key):\n    return b''\nimport infrar\n", "store defines its own read"),
    ("def helper():\n    from infrar.storage import read\n    return read\n", "not module level"),
    ("import infrar.storage as s\nread = s\n", "a module as a value"),
])
def test_only_module_level_sdk_names_are_reexported(tmp_path: Path, store: str,
                                                    why: str) -> None:
    found = uses(write_tree(tmp_path, {"store.py": store,
                                       "main.py": 'from store import read\nread("b", "k")\n'}))
    assert found["main.py"] == [], why


def test_problems_are_reported_where_the_reexport_is_used(tmp_path: Path) -> None:
    main = 'from store import read\nf = read\nread("b")\n'
    tree = SourceTree([write_tree(tmp_path, {"store.py": STORE, "main.py": main})],
                      base=tmp_path)
    [detection] = [d for f, d in tree.detect() if f.module == "main"]
    assert [(d.path, d.line, d.col, d.code) for d in detection.diagnostics] == [
        ("main.py", 2, 5, "dynamic-use"), ("main.py", 3, 1, "bad-arguments")]
    assert "`infrar.storage.read` is used as a value" in detection.diagnostics[0].message


def test_an_import_cycle_of_reexporters_ends(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "a.py": "from infrar.storage import read\nfrom b import write\n",
        "b.py": "from infrar.storage import write\nfrom a import read\n",
        "main.py": 'from a import read, write\nread("x", "k")\nwrite("y", "k", b"")\n'})
    assert summary(uses(root)["main.py"]) == [
        ("read", 2, 1, {"bucket": "x"}), ("write", 3, 1, {"bucket": "y"})]


# --- the pipeline and the build -----------------------------------------------------------------

def test_the_build_rewrites_only_the_reexporter(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".infrar.yaml": CONFIG, "store.py": STORE, "main.py": MAIN})
    result = pipeline(root)
    assert result.ok, result.diagnostics
    assert sorted(result.files) == ["store.py"]
    build = result.builds["local"]
    assert build.environments == ("staging", "production")
    assert build.files["main.py"] == MAIN.encode()
    assert build.files["store.py"] == STORE.replace("infrar.", f"{PACKAGE}.").encode()
    for environment in ("staging", "production"):
        [photos] = result.inventories[environment].resources
        assert (photos.key, photos.physical) == ("photos", f"acme-{environment}-photos")
        assert photos.operations == ("read", "write")
        assert photos.locations == ("main.py:3:1", "main.py:4:8")
    namespace: dict[str, object] = {}
    exec(build.files[f"{PACKAGE}/resources.py"], namespace)  # noqa: S102
    assert namespace["NAMES"] == {
        "production": {"bucket": {"photos": "acme-production-photos"}},
        "staging": {"bucket": {"photos": "acme-staging-photos"}},
    }


def test_the_built_program_runs_in_each_environment_without_the_sdk(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {".infrar.yaml": CONFIG, "store.py": STORE,
                                           "main.py": MAIN + "print(data)\n"})
    result = pipeline(source)
    assert result.ok, result.diagnostics
    out = tmp_path / "out"
    for path, data in build_files(result.builds).items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(data)
    storage = tmp_path / "storage"
    for environment in ("staging", "production"):
        (storage / f"acme-{environment}-photos").mkdir(parents=True)
        env = {**os.environ, "INFRAR_LOCAL_ROOT": str(storage), "INFRAR_ENVIRONMENT": environment}
        script = "import sys, runpy\nsys.modules['infrar'] = None\nrunpy.run_path('main.py')\n"
        run = subprocess.run([sys.executable, "-c", script], cwd=out / "local", env=env,
                             capture_output=True, text=True, check=False)
        assert (run.returncode, run.stdout) == (0, "b'v'\n"), run.stderr
        assert (storage / f"acme-{environment}-photos" / "k").read_bytes() == b"v"
    assert sorted(p.name for p in storage.iterdir() if not p.name.startswith(".")) == [
        "acme-production-photos", "acme-staging-photos"]


def test_a_tree_without_the_sdk_builds_no_package(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".infrar.yaml": CONFIG, "main.py": "print('store')\n"})
    result = pipeline(root)
    assert result.ok and result.files == {}
    assert sorted(result.builds["local"].files) == ["main.py", "requirements.infrar.txt"]


# --- known gaps (strict: each turns into a failure once fixed, so the mark is removed) --------

def test_an_unparsable_file_that_cannot_use_the_sdk_does_not_block(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".infrar.yaml": CONFIG, "store.py": STORE, "main.py": MAIN,
                                 "legacy.py": 'print "restore the backup"\n'})
    result = pipeline(root)
    assert result.ok, result.diagnostics


def test_a_reexport_reached_as_a_module_attribute(tmp_path: Path) -> None:
    found = uses(write_tree(tmp_path, {"store.py": STORE,
                                       "main.py": 'import store\nstore.read("photos", "k")\n'}))
    assert summary(found["main.py"]) == [("read", 2, 1, {"bucket": "photos"})]


def test_a_reexport_of_a_reexport(tmp_path: Path) -> None:
    found = uses(write_tree(tmp_path, {"store.py": STORE, "facade.py": "from store import read\n",
                                       "main.py": 'from facade import read\nread("b", "k")\n'}))
    assert summary(found["main.py"]) == [("read", 2, 1, {"bucket": "b"})]


def test_a_constant_of_a_sibling_module_imported_from_the_package(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "shop/__init__.py": "", "shop/settings.py": 'UPLOADS = "uploads"\n',
        "shop/app.py": 'import infrar.storage as s\nfrom . import settings\n'
                       's.read(settings.UPLOADS, "k")\n'})
    assert summary(uses(root)["shop/app.py"]) == [("read", 3, 1, {"bucket": "uploads"})]
