"""Each service's rights come from its own code: the modules reachable from its entry point
(through imports inside the project) decide which SDK operations it uses, so an upload API and
a nightly clean-up job of one project use different operations on the same bucket."""

from __future__ import annotations

from pathlib import Path

from infrar.engine.config import ServiceConfig, load_config
from infrar.engine.pipeline import run_pipeline
from infrar.engine.services import ServiceUses, reachable_modules, service_uses
from infrar.engine.tree import SourceTree

CONFIG = """\
version: 1
project: photos
provider: local
services:
  api:
    kind: http
    entry: photos.web:app
  nightly:
    kind: schedule
    command: [python, -m, photos.jobs.prune]
    schedule: "30 2 * * *"
  report:
    kind: worker
    command: [python, scripts/report.py]
  other:
    kind: worker
    command: [./run-everything]
"""

FILES = {
    "photos/__init__.py": "",
    "photos/settings.py": 'BUCKET = "uploads"\n',
    # A facade: both services import it, but only what each calls counts.
    "photos/store.py": ("from infrar.storage import delete, list_objects, read, write\n"
                        "from .settings import BUCKET\n\n\n"
                        "def save(key, data):\n    write(BUCKET, key, data)\n\n\n"
                        "def load(key):\n    return read(BUCKET, key)\n"),
    "photos/web.py": ("from photos import store\n\n\n"
                      "def app(environ, start_response):\n"
                      "    store.save('k', b'v')\n    return [store.load('k')]\n"),
    "photos/jobs/__init__.py": "",
    "photos/jobs/prune.py": ("import importlib\n\n"
                             "from infrar.storage import delete, list_objects\n\n"
                             "from ..settings import BUCKET\n\n"
                             "helpers = importlib.import_module('photos.jobs.helpers')\n\n"
                             "for key in list_objects(BUCKET):\n    delete(BUCKET, key)\n"),
    "photos/jobs/helpers.py": "from infrar.kv import delete\n\ndelete('index', 'old')\n",
    "scripts/report.py": "from infrar.secrets import get_secret\n\nget_secret('report-token')\n",
    "unused.py": "from infrar.queue import send\n\nsend('spare', 'x')\n",
}


def _project(tmp_path: Path) -> Path:
    for relative, text in {**FILES, ".infrar.yaml": CONFIG}.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    return tmp_path


def _uses(tmp_path: Path) -> dict[str, ServiceUses]:
    root = _project(tmp_path)
    config = load_config(root / ".infrar.yaml")
    scan = run_pipeline([root], config=config, targets={}, build=False).scan
    return service_uses(config, scan)


def _grants(found: ServiceUses) -> set[tuple[str, str, str | None]]:
    return {(u.capability, u.operation, next(iter(u.resources.values()), None))
            for u, _ in found.uses}


def test_an_upload_api_and_a_cleanup_job_use_different_operations(tmp_path: Path) -> None:
    found = _uses(tmp_path)
    api, nightly = found["api"], found["nightly"]
    # The facade imports delete and list_objects too; the API never calls them.
    assert api.operations == {"storage": ("read", "write")}
    assert nightly.operations == {"kv": ("delete",), "storage": ("delete", "list_objects")}
    assert _grants(api) == {("storage", "read", "uploads"), ("storage", "write", "uploads")}
    assert ("kv", "delete", "index") in _grants(nightly)


def test_the_reach_follows_imports_packages_and_literal_dynamic_imports(tmp_path: Path) -> None:
    found = _uses(tmp_path)
    assert found["api"].reach.start == ("photos.web",)
    assert found["api"].reach.modules == ("photos", "photos.settings", "photos.store",
                                          "photos.web")
    assert found["nightly"].reach.modules == ("photos", "photos.jobs", "photos.jobs.helpers",
                                              "photos.jobs.prune", "photos.settings")
    assert not found["api"].reach.whole_paths


def test_a_script_command_starts_from_that_file(tmp_path: Path) -> None:
    report = _uses(tmp_path)["report"]
    assert report.reach.start == ("scripts.report",)
    assert report.operations == {"secrets": ("get_secret",)}


def test_a_server_command_starts_from_its_module_attribute(tmp_path: Path) -> None:
    root = _project(tmp_path)
    service = ServiceConfig(name="web", kind="http",
                            command=("gunicorn", "--workers", "2", "photos.web:app"))
    reach = reachable_modules(service, SourceTree([root], base=root), base=root)
    assert reach.start == ("photos.web",) and not reach.whole_paths


def test_a_command_naming_no_module_counts_every_module_and_says_so(tmp_path: Path) -> None:
    other = _uses(tmp_path)["other"]
    assert other.reach.whole_paths
    assert "every module of its paths counts" in other.reach.note
    assert set(other.operations) == {"kv", "queue", "secrets", "storage"}


def test_a_module_no_service_reaches_grants_nothing(tmp_path: Path) -> None:
    found = _uses(tmp_path)
    reached = {u.capability for name in ("api", "nightly", "report")
               for u, _ in found[name].uses}
    assert "queue" not in reached


def test_an_entry_outside_the_tree_counts_every_module(tmp_path: Path) -> None:
    root = _project(tmp_path)
    service = ServiceConfig(name="ghost", kind="worker", entry="nowhere.main:run")
    reach = reachable_modules(service, SourceTree([root], base=root), base=root)
    assert reach.whole_paths and "'nowhere.main'" in reach.note


def test_a_project_without_services_has_no_service_uses(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / ".infrar.yaml").write_text("version: 1\nprovider: local\n")
    config = load_config(root / ".infrar.yaml")
    scan = run_pipeline([root], config=config, targets={}, build=False).scan
    assert service_uses(config, scan) == {}
