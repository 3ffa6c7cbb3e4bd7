"""Buckets named through constants: a module-level name bound exactly once, to a string literal,
counts as that literal for detection, inventory and the build's name table; any other binding
of the name anywhere in the module makes it dynamic (None), and so does a star import."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrar.engine.config import load_project_config
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.inventory import Resource, build_inventory
from infrar.engine.naming import Naming
from infrar.engine.pipeline import deployment_targets, run_pipeline
from infrar.engine.tree import SourceTree

HEADER = "import infrar.storage as s\n"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def buckets(root: Path, path: str = "app.py") -> list[str | None]:
    """The bucket of each SDK call in `path`, in source order, as detection reports it."""
    found = {f.relative.as_posix(): d for f, d in SourceTree([root]).detect()}
    assert not found[path].diagnostics, found[path].diagnostics
    return [use.resources["bucket"] for use in found[path].uses]


def one_module(tmp_path: Path, body: str) -> list[str | None]:
    return buckets(write_tree(tmp_path, {"app.py": HEADER + body}))


# --- what counts as a constant --------------------------------------------------------------

@pytest.mark.parametrize("body", [
    'BUCKET = "uploads"\ns.read(BUCKET, "k")\n',
    'from typing import Final\nBUCKET: Final = "uploads"\ns.read(BUCKET, "k")\n',
    'import typing\nBUCKET: typing.Final[str] = "uploads"\ns.read(BUCKET, "k")\n',
    'BUCKET: str = "uploads"\ns.read(BUCKET, "k")\n',
    'def load():\n    return s.read(BUCKET, "k")\n\n\nBUCKET = "uploads"\n',
    ('BUCKET = "uploads"\n\n\nclass Store:\n'
     '    def load(self):\n        return s.read(BUCKET, "k")\n'),
    'BUCKET = "uploads"\nkeys = [s.list_objects(BUCKET) for _ in range(2)][0]\n',
])
def test_a_literal_constant_names_the_bucket(tmp_path: Path, body: str) -> None:
    assert set(one_module(tmp_path, body)) == {"uploads"}


def test_tuple_and_list_unpacking(tmp_path: Path) -> None:
    body = ('PHOTOS, BACKUPS = "photos", "backups"\n'
            '[LOGS, (ARCHIVE, TMP)] = ["logs", ("archive", "tmp")]\n'
            's.read(PHOTOS, "k")\ns.read(BACKUPS, "k")\ns.read(LOGS, "k")\n'
            's.read(ARCHIVE, "k")\ns.read(TMP, "k")\n')
    assert one_module(tmp_path, body) == ["photos", "backups", "logs", "archive", "tmp"]


def test_unpacking_follows_python(tmp_path: Path) -> None:
    """Names are paired with values only where the two line up one for one."""
    body = ('A, B = "a", "b", "c"[:1]\n'  # compiles; the lengths differ
            'C, *REST = "c", "d"\n'  # C is "c" whatever REST holds
            'D, *MORE = "d", "e", "f"\n'
            's.read(A, "k")\ns.read(C, "k")\ns.read(D, "k")\ns.read(REST, "k")\n')
    assert one_module(tmp_path, body) == [None, "c", None, None]


@pytest.mark.parametrize("value", ['3', '"up" + "loads"', 'f"uploads"', '"uploads".lower()',
                                   'b"uploads"', 'None', 'os.environ["BUCKET"]'])
def test_anything_but_a_string_literal_is_dynamic(tmp_path: Path, value: str) -> None:
    assert one_module(tmp_path, f'import os\nBUCKET = {value}\ns.read(BUCKET, "k")\n') == [None]


@pytest.mark.parametrize("rebinding", [
    'BUCKET = "uploads"\n',  # the same value again is still a second binding
    'BUCKET += "-x"\n',
    'def reset():\n    global BUCKET\n    BUCKET = "other"\n',
    'def local():\n    BUCKET = "other"\n    return BUCKET\n',
    'def param(BUCKET):\n    return BUCKET\n',
    'for BUCKET in ("a", "b"):\n    pass\n',
    'with open("f") as BUCKET:\n    pass\n',
    'try:\n    pass\nexcept OSError as BUCKET:\n    pass\n',
    'import json as BUCKET\n',
    'class BUCKET:\n    pass\n',
    'values = [BUCKET := "other"]\n',
    'del BUCKET\n',
    'match 1:\n    case BUCKET:\n        pass\n',
])
def test_a_second_binding_anywhere_makes_it_dynamic(tmp_path: Path, rebinding: str) -> None:
    body = f'BUCKET = "uploads"\n{rebinding}s.read(BUCKET, "k")\n'
    assert one_module(tmp_path, body) == [None]


def test_a_name_bound_only_in_a_class_or_function_is_not_a_constant(tmp_path: Path) -> None:
    body = ('class Config:\n    BUCKET = "uploads"\n\n\n'
            'def job():\n    LOCAL = "uploads"\n    return s.read(LOCAL, "k")\n\n\n'
            's.read(Config.BUCKET, "k")\n')
    assert one_module(tmp_path, body) == [None, None]


def test_a_star_import_makes_every_constant_dynamic(tmp_path: Path) -> None:
    body = 'from os.path import *\nBUCKET = "uploads"\ns.read(BUCKET, "k")\ns.read("lit", "k")\n'
    assert one_module(tmp_path, body) == [None, "lit"]


def test_a_star_import_of_the_sdk_counts_too(tmp_path: Path) -> None:
    """The rule is deliberately simple: any star import may bind any name."""
    root = write_tree(tmp_path, {"app.py": 'from infrar.storage import *\nBUCKET = "uploads"\n'
                                           'read(BUCKET, "k")\n'})
    assert buckets(root) == [None]


# --- constants from other modules of the tree -------------------------------------------------

def test_an_absolute_import_of_a_constant(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "settings.py": 'UPLOADS = "uploads"\nBACKUPS: str = "backups"\n',
        "app.py": HEADER + 'from settings import UPLOADS, BACKUPS as B\n'
                           's.read(UPLOADS, "k")\ns.read(B, "k")\n'})
    assert buckets(root) == ["uploads", "backups"]


def test_a_relative_import_of_a_constant(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "shop/__init__.py": 'ROOT_BUCKET = "root"\n',
        "shop/settings.py": 'UPLOADS = "uploads"\n',
        "shop/orders/__init__.py": "",
        "shop/orders/app.py": HEADER + 'from ..settings import UPLOADS\n'
                                       'from .. import ROOT_BUCKET\n'
                                       's.read(UPLOADS, "k")\ns.read(ROOT_BUCKET, "k")\n'})
    assert buckets(root, "shop/orders/app.py") == ["uploads", "root"]


def test_a_relative_import_from_a_package_init(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "shop/settings.py": 'UPLOADS = "uploads"\n',
        "shop/__init__.py": HEADER + 'from .settings import UPLOADS\ns.read(UPLOADS, "k")\n'})
    assert buckets(root, "shop/__init__.py") == ["uploads"]


def test_a_module_attribute(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "settings.py": 'UPLOADS = "uploads"\nDYNAMIC = "a"\nDYNAMIC = "b"\n',
        "shop/__init__.py": "",
        "shop/names.py": 'LOGS = "logs"\n',
        "app.py": HEADER + 'import settings\nimport shop.names as names\n'
                           's.read(settings.UPLOADS, "k")\ns.read(names.LOGS, "k")\n'
                           's.read(settings.DYNAMIC, "k")\ns.read(settings.MISSING, "k")\n'})
    assert buckets(root) == ["uploads", "logs", None, None]


def test_a_constant_through_two_modules(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "base.py": 'UPLOADS = "uploads"\n',
        "settings.py": 'from base import UPLOADS\n',
        "app.py": HEADER + 'from settings import UPLOADS\ns.read(UPLOADS, "k")\n'})
    assert buckets(root) == ["uploads"]


@pytest.mark.parametrize(("settings", "app"), [
    ('UPLOADS = "uploads"\ndef f():\n    global UPLOADS\n    UPLOADS = "x"\n',
     'from settings import UPLOADS\n'),
    ('UPLOADS = "uploads"\n', 'from settings import UPLOADS\nUPLOADS = UPLOADS.upper()\n'),
    ('UPLOADS = "uploads"\n', 'from settings import UPLOADS\nfrom other import UPLOADS\n'),
    ('from os.path import *\nUPLOADS = "uploads"\n', 'from settings import UPLOADS\n'),
    ('UPLOADS = "uploads"\n', 'from elsewhere.settings import UPLOADS\n'),
    ('import os\nUPLOADS = os.environ["B"]\n', 'from settings import UPLOADS\n'),
])
def test_an_imported_name_that_is_not_a_constant_is_dynamic(tmp_path: Path, settings: str,
                                                            app: str) -> None:
    root = write_tree(tmp_path, {"settings.py": settings,
                                 "app.py": HEADER + app + 's.read(UPLOADS, "k")\n'})
    assert buckets(root) == [None]


def test_circular_imports_end(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "a.py": 'from b import B\nA = "a"\n',
        "b.py": 'from a import A\nB = "b"\n',
        "app.py": HEADER + 'from a import A, B\ns.read(A, "k")\ns.read(B, "k")\n'})
    assert buckets(root) == ["a", "b"]


def test_a_loose_script_imports_its_neighbours_constant(tmp_path: Path) -> None:
    """`python jobs/nightly.py` puts jobs/ on sys.path: `from settings import X` is
    jobs/settings.py, even though jobs/ is no package."""
    root = write_tree(tmp_path, {
        "jobs/settings.py": 'ARCHIVE = "archive"\n',
        "jobs/nightly.py": HEADER + 'from settings import ARCHIVE\nimport settings\n'
                                    's.read(ARCHIVE, "k")\ns.read(settings.ARCHIVE, "k")\n'})
    assert buckets(root, "jobs/nightly.py") == ["archive", "archive"]


def test_a_top_level_module_wins_over_a_neighbour(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "settings.py": 'ARCHIVE = "top"\n',
        "jobs/settings.py": 'ARCHIVE = "neighbour"\n',
        "jobs/nightly.py": HEADER + 'from settings import ARCHIVE\ns.read(ARCHIVE, "k")\n'})
    assert buckets(root, "jobs/nightly.py") == ["top"]


# --- what a user sees: the inventory and the build ---------------------------------------

def inventory(root: Path) -> list[Resource]:
    uses = [(use, file.relative.as_posix())
            for file, detection in SourceTree([root], base=root).detect() for use in detection.uses]
    found = build_inventory(uses, plugin=load_plugin("local"), naming=Naming())
    return found.resources


def test_two_constant_buckets_on_one_line_are_two_resources(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "settings.py": 'BACKUPS = "backups"\n',
        "app.py": HEADER + 'from settings import BACKUPS\nPHOTOS = "photos"\n'
                           's.copy(PHOTOS, "a", "b", destination_bucket=BACKUPS); '
                           'x = s.read(BACKUPS, "k")\n'})
    resources = {r.key: r for r in inventory(root)}
    assert sorted(resources) == ["backups", "photos"]
    assert resources["photos"].operations == ("copy",)
    assert resources["backups"].operations == ("copy", "read")
    assert resources["backups"].locations == ("app.py:4:1", "app.py:4:59")
    assert all(r.variable is None and r.physical == r.key for r in resources.values())


def test_two_dynamic_buckets_on_one_line_are_two_variables(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "app.py": HEADER + 'import os\na, b = os.environ["A"], os.environ["B"]\n'
                           'x = s.read(a, "k"); y = s.read(b, "k")\n'})
    variables = sorted(r.variable or "" for r in inventory(root))
    assert variables == ["bucket_app_py_4_25", "bucket_app_py_4_5"]


CONFIG = """\
version: 1
project: acme
provider: local
environments:
  staging: {}
  production: {}
"""


def test_the_build_names_a_constant_bucket_in_every_environment(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        ".infrar.yaml": CONFIG,
        "settings.py": 'UPLOADS = "uploads"\n',
        "app.py": HEADER + 'from settings import UPLOADS\ndata = s.read(UPLOADS, "k")\n'})
    config = load_project_config(config_file=root / ".infrar.yaml")
    result = run_pipeline([root], config=config, targets=deployment_targets(config))
    assert result.ok, result.diagnostics
    for environment in ("staging", "production"):
        [resource] = result.inventories[environment].resources
        assert (resource.key, resource.physical) == ("uploads", f"acme-{environment}-uploads")
    namespace: dict[str, object] = {}
    exec(result.builds["local"].files["infrar_native/resources.py"], namespace)  # noqa: S102
    assert namespace["NAMES"] == {
        "production": {"bucket": {"uploads": "acme-production-uploads"}},
        "staging": {"bucket": {"uploads": "acme-staging-uploads"}},
    }
    assert result.builds["local"].files["settings.py"] == b'UPLOADS = "uploads"\n'
