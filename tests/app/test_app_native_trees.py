"""What a pull request's author sees of the engine's output, run as a worker runs a delivery
against the fake, with real git and Terraform: the transformed tree of each provider on the bot
branch (for a project on two clouds, one tree each, naming that cloud's environment), user
files changed only in their imports, review comments on the rewritten imports, and code the
engine refuses reported at its repository file and line, with nothing committed or pushed."""

from __future__ import annotations

import difflib
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import payloads
import pytest
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO

from infrar.app.runtime import Runtime
from infrar.app.settings import Settings
from infrar.app.state.deliveries import Job
from infrar.app.workflow.router import Context
from infrar.app.workflow.routes import ROUTER
from infrar.engine.terraform.markdown import escape_html

BRANCH = "refs/heads/infrar/pr-1"

TWO_CLOUDS = """\
version: 1
project: photos
paths: [src]
environments:
  production:
    provider: local
  staging:
    provider: aws
"""

THUMBS_PY = '''\
"""Thumbnails, cached in their own bucket."""

import json

import infrar.storage as storage
from infrar.storage import (
    ObjectNotFoundError,
    read,
)
from infrar.storage.errors import PermissionDeniedError

INDEX = "index.json"


def thumbnail(key: str) -> bytes:
    try:
        return read("thumbs", key)
    except ObjectNotFoundError:
        data = storage.read("uploads", key)
        storage.write("thumbs", key, data)
        return data
    except PermissionDeniedError:
        raise


def index() -> dict:
    return json.loads(storage.read("thumbs", INDEX))
'''

THUMBS_IMPORT_LINES = {5, 6, 10}
"""1-based: the SDK imports of THUMBS_PY (line 6 opens a statement that runs to line 9)."""

REFUSED_PY = '''\
from infrar import storage


def lookup(name):
    return getattr(storage, "read")("uploads", name)
'''

Deliver = Callable[[str, dict[str, Any]], None]


@pytest.fixture
def deliver(fake: FakeGitHub, app_env: dict[str, str],
            monkeypatch: pytest.MonkeyPatch) -> Deliver:
    """Run a delivery the way a worker does (the router, in this process)."""
    for name, value in {**app_env, "INFRAR_GENERATOR": "stand_in_generator"}.items():
        monkeypatch.setenv(name, value)
    runtime = Runtime.from_settings(Settings.from_env(os.environ))
    ids = itertools.count(1)

    def run(event: str, payload: dict[str, Any]) -> None:
        job = Job(f"delivery-{next(ids)}", event, payload.get("action"), None, payload, 1)
        assert ROUTER.dispatch(Context(runtime, job), event, job.action, payload, job) == 1

    return run


def module_globals(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "resources.py", "exec"), namespace)
    return namespace


def check_runs(fake: FakeGitHub, head_sha: str) -> list[dict[str, Any]]:
    return [r for r in fake.repos[REPO].check_runs.values() if r["head_sha"] == head_sha]


def pushes(fake: FakeGitHub) -> int:
    return sum(1 for method, path, _ in fake.git_calls
               if method == "POST" and path.endswith("/git-receive-pack"))


def no_machine_paths(text: str, tmp_path: Path) -> bool:
    return str(tmp_path) not in text and str(tmp_path.resolve()) not in text


def test_each_provider_gets_its_tree_naming_its_environment(fake: FakeGitHub, deliver: Deliver
                                                             ) -> None:
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": TWO_CLOUDS})
    stale = {".infrar/build/local/removed_module.py": "x = 1\n",
             ".infrar/build/gcp/thumbs.py": "from infrar_native.storage import read\n"}
    pull = fake.open_pull(REPO, "feature", {"src/photos/__init__.py": "",
                                            "src/photos/thumbs.py": THUMBS_PY, **stale})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    tree = ["helpers.py", "infrar_native/__init__.py", "infrar_native/resources.py",
            "infrar_native/storage.py", "photos/__init__.py", "photos/thumbs.py",
            "requirements.infrar.txt"]
    # Both trees, nothing else: not what the pull request had committed under the folder.
    assert fake.git.files(REPO, BRANCH, ".infrar/build") == [
        f".infrar/build/{provider}/{path}" for provider in ("aws", "local") for path in tree]
    for provider, environment in (("local", "production"), ("aws", "staging")):
        build = f".infrar/build/{provider}"
        names = module_globals(fake.git.show(REPO, BRANCH, f"{build}/infrar_native/resources.py"))
        assert names["NAMES"] == {environment: {"bucket": {
            "thumbs": f"photos-{environment}-thumbs", "uploads": f"photos-{environment}-uploads"}}}
        assert names["DEFAULT_ENVIRONMENT"] == environment
        assert names["current_environment"]() == environment
    aws_storage = fake.git.show(REPO, BRANCH, ".infrar/build/aws/infrar_native/storage.py")
    local_storage = fake.git.show(REPO, BRANCH, ".infrar/build/local/infrar_native/storage.py")
    assert "boto3" in aws_storage and "boto3" not in local_storage
    assert "boto3" in fake.git.show(REPO, BRANCH, ".infrar/build/aws/requirements.infrar.txt")
    assert fake.git.show(REPO, BRANCH, "src/photos/thumbs.py") == THUMBS_PY  # as written
    for environment in ("production", "staging"):
        assert fake.git.has_file(REPO, BRANCH, f".infrar/terraform/{environment}/main.tf")

    review = fake.bot_reviews(REPO, pull.number)[-1]["body"]
    assert all(f"### {escape_html(section)}" in review
               for section in ("production (local)", "staging (aws)"))
    assert "**aws, local**" in review
    assert [r["conclusion"] for r in check_runs(fake, pull.head_sha)] == ["success"]


def test_a_transformed_file_differs_from_its_source_only_in_its_imports(
        fake: FakeGitHub, deliver: Deliver) -> None:
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": TWO_CLOUDS})
    pull = fake.open_pull(REPO, "feature", {"src/photos/__init__.py": "",
                                            "src/photos/thumbs.py": THUMBS_PY})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    source = THUMBS_PY.splitlines(keepends=True)
    for provider in ("local", "aws"):
        built = fake.git.show(REPO, BRANCH, f".infrar/build/{provider}/photos/thumbs.py")
        native = built.splitlines(keepends=True)
        assert len(native) == len(source), built
        pairs = enumerate(zip(source, native, strict=True), start=1)
        changed = {number for number, (before, after) in pairs if before != after}
        assert changed == THUMBS_IMPORT_LINES, "".join(difflib.unified_diff(source, native))
        for number in changed:
            assert native[number - 1].startswith(("import infrar_native.", "from infrar_native."))
        assert "infrar.storage" not in built and "from infrar " not in built
        helpers = fake.git.show(REPO, BRANCH, f".infrar/build/{provider}/helpers.py")
        assert helpers == BASE_FILES["src/helpers.py"]  # no SDK: copied byte for byte


def test_refused_code_is_reported_at_its_line_and_nothing_is_pushed(
        fake: FakeGitHub, deliver: Deliver, tmp_path: Path) -> None:
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": TWO_CLOUDS})
    pull = fake.open_pull(REPO, "feature", {"src/photos/__init__.py": "",
                                            "src/photos/thumbs.py": THUMBS_PY})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))
    planned, pushed = fake.git.rev(REPO, BRANCH), pushes(fake)
    assert pushed == 1

    fake.push_to_pull(REPO, pull.number, {"src/photos/lookup.py": REFUSED_PY})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "synchronize"))

    assert pushes(fake) == pushed and fake.git.rev(REPO, BRANCH) == planned
    review = fake.bot_reviews(REPO, pull.number)[-1]
    assert review["commit_id"] == pull.head_sha and review["comments"] == []
    assert "Nothing was committed or planned." in review["body"]
    assert "src/photos/lookup.py:5:20: error:" in review["body"]
    assert "[dynamic-use]" in review["body"]
    [run] = check_runs(fake, pull.head_sha)
    assert run["conclusion"] == "failure"
    assert [(a["path"], a["start_line"], a["annotation_level"])
            for a in run["output"]["annotations"]] == [("src/photos/lookup.py", 5, "failure")]
    shown = "\n".join([review["body"], run["output"]["summary"], run["output"]["text"],
                       *(a["message"] for a in run["output"]["annotations"])])
    assert no_machine_paths(shown, tmp_path), shown


def test_inline_comments_land_on_the_rewritten_import_lines(fake: FakeGitHub,
                                                            deliver: Deliver) -> None:
    legacy = APP_PY + "\n\n" + "\n\n".join(f"def helper_{n}():\n    return {n}\n"
                                           for n in range(4))
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": TWO_CLOUDS, "src/legacy.py": legacy})
    pull = fake.open_pull(REPO, "feature", {
        "src/photos/__init__.py": "", "src/photos/thumbs.py": THUMBS_PY,
        # Changed far below its import: that import is outside the diff, so it goes in the body.
        "src/legacy.py": legacy.replace("return 3", "return 'three'")})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    review = fake.bot_reviews(REPO, pull.number)[-1]
    placed = [(c["path"], c.get("start_line"), c["line"]) for c in review["comments"]]
    assert placed == [("src/photos/thumbs.py", None, 5), ("src/photos/thumbs.py", 6, 9),
                      ("src/photos/thumbs.py", None, 10)], review["comments"]
    bodies = [c["body"] for c in review["comments"]]
    assert "import infrar_native.storage as storage" in bodies[0]
    assert "from infrar_native.storage import (\n    ObjectNotFoundError," in bodies[1]
    assert "from infrar_native.storage import PermissionDeniedError" in bodies[2]
    assert "Other rewritten imports (1)" in review["body"]
    assert "<code>src/legacy.py:3</code>" in review["body"] or "`src/legacy.py:3`" \
        in review["body"]


def test_generator_diagnostics_name_repository_files(fake: FakeGitHub, deliver: Deliver,
                                                     tmp_path: Path) -> None:
    dynamic = APP_PY + "\n\ndef load_from(bucket, key):\n    return read(bucket, key)\n"
    fake.create_repo(REPO, BASE_FILES)
    pull = fake.open_pull(REPO, "feature", {"src/app.py": dynamic})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    review = fake.bot_reviews(REPO, pull.number)[-1]["body"]
    assert "src/app.py:15:12: warning: the bucket name is not a literal" in review, review
    assert "bucket_src_app_py_15_12" in review
    [run] = check_runs(fake, pull.head_sha)
    shown = "\n".join([review, run["output"]["summary"], run["output"]["text"],
                       *(a["message"] for a in run["output"]["annotations"])])
    assert no_machine_paths(shown, tmp_path), shown


def test_symlinked_output_folders_cannot_bring_their_own_files(fake: FakeGitHub,
                                                               deliver: Deliver) -> None:
    fake.create_repo(REPO, BASE_FILES)
    smuggled = 'resource "null_resource" "smuggled" {}\n'
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY, "smuggle/extra.tf": smuggled},
                          links={".infrar/terraform/production": "../../smuggle",
                                 ".infrar/build": "../src"})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    review = fake.bot_reviews(REPO, pull.number)[-1]["body"]
    assert "Plan: 1 to add" in review and "smuggled" not in review, review
    assert fake.git.show(REPO, BRANCH, "smuggle/extra.tf") == smuggled  # the user's, not run
    assert "module \"storage\"" in fake.git.show(REPO, BRANCH,
                                                 ".infrar/terraform/production/main.tf")
    assert fake.git.files(REPO, BRANCH, "src") == ["src/app.py", "src/helpers.py"]
    assert fake.git.has_file(REPO, BRANCH, ".infrar/build/local/src/app.py")



def test_a_later_push_leaves_no_stale_build_files(fake: FakeGitHub, deliver: Deliver) -> None:
    fake.create_repo(REPO, BASE_FILES)
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY, "src/old.py": APP_PY})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))
    assert fake.git.has_file(REPO, BRANCH, ".infrar/build/local/src/old.py")

    # The author merges the bot branch into theirs, then removes a module.
    fake.git.merge(REPO, fake.git.rev(REPO, BRANCH), base=pull.head_ref)
    fake.push_to_pull(REPO, pull.number, {"src/old.py": None})
    assert fake.git.has_file(REPO, f"refs/heads/{pull.head_ref}", ".infrar/build/local/src/old.py")
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "synchronize"))

    assert fake.git.parent(REPO, BRANCH) == pull.head_sha
    assert fake.git.files(REPO, BRANCH, ".infrar/build") == [
        f".infrar/build/local/{path}" for path in (
            "infrar_native/__init__.py", "infrar_native/resources.py",
            "infrar_native/storage.py", "requirements.infrar.txt", "src/app.py",
            "src/helpers.py")]


def test_the_bot_branch_carries_the_trees_where_the_repository_ignores_infrar(
        fake: FakeGitHub, deliver: Deliver) -> None:
    # The docs tell users to ignore .infrar/ (local state); the bot branch must still carry
    # what Infrar generated there.
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": TWO_CLOUDS,
                            ".gitignore": ".infrar/\n"})
    pull = fake.open_pull(REPO, "feature", {"src/photos/__init__.py": "",
                                            "src/photos/thumbs.py": THUMBS_PY})
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    assert fake.git.has_file(REPO, BRANCH, ".infrar/build/local/infrar_native/storage.py")
    assert fake.git.has_file(REPO, BRANCH, ".infrar/build/aws/photos/thumbs.py")
    for environment in ("production", "staging"):
        assert fake.git.has_file(REPO, BRANCH, f".infrar/terraform/{environment}/main.tf")
