"""The wheel installs everything under the `infrar` name, with the provider data, and nothing
that could shadow a user's own top-level modules; building it prints no warnings, and a new
folder of modules or data ships without being listed anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from repo_snapshot import git, git_env, snapshot

REPOSITORY = Path(__file__).resolve().parents[1]


def _build_wheel(out: Path, source: Path = REPOSITORY,
                 env: dict[str, str] | None = None) -> Path:
    return _build(out, source, env)[0]


def _build(out: Path, source: Path, env: dict[str, str] | None = None) -> tuple[Path, str]:
    """The wheel built from `source`, and what the build printed."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-w", str(out), str(source)],
        check=True, timeout=300, capture_output=True, text=True, env=env)
    return next(out.glob("infrar-*.whl")), done.stdout + done.stderr


def _setuptools_warnings(output: str) -> list[str]:
    """Lines of the build's output that are warnings of setuptools (not pip's own notes about
    this machine's index configuration)."""
    return [line for line in output.splitlines()
            if "would be ignored" in line or "Warning:" in line or "!!" in line]


def _package_files(wheel: Path) -> set[str]:
    return {n for n in zipfile.ZipFile(wheel).namelist() if not n.startswith("infrar-")}


def test_wheel_holds_only_the_infrar_package_and_its_data(tmp_path: Path) -> None:
    wheel, output = _build(tmp_path, REPOSITORY)
    assert _setuptools_warnings(output) == []
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.startswith("infrar-")}
    assert top_level == {"infrar"}
    for expected in [
        "infrar/storage/__init__.py",
        "infrar/storage/portable.yaml",
        "infrar/engine/transform.py",
        "infrar/engine/schemas/rules.schema.json",
        "infrar/app/server.py",
        "infrar/app/dashboard/templates/base.html",
        "infrar/app/dashboard/static/dashboard.css",
        "infrar/app/dashboard/static/dashboard.js",
        "infrar/cli/main.py",
        "infrar/providers/aws/services/storage/s3/transform/rules.yaml",
        "infrar/providers/gcp/services/storage/gcs/terraform/main.tf",
        "infrar/providers/azure/terraform-config/provider-block.tf.tmpl",
        "infrar/providers/local/services/storage/filesystem/transform/rules.yaml",
    ]:
        assert expected in names, expected
    provider_files = [n for n in names if n.startswith("infrar/providers/")]
    shipped = {str(p.relative_to(REPOSITORY)) for p in (REPOSITORY / "providers").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert {n.removeprefix("infrar/") for n in provider_files} == shipped


def test_the_version_comes_from_the_git_tag(tmp_path: Path) -> None:
    """setuptools-scm: a clone at tag v9.8.7 builds infrar 9.8.7; one commit later, a dev
    version of the next release naming the commit."""
    env = git_env(tmp_path / "home")
    clone = tmp_path / "clone"
    snapshot(clone, env)
    git(clone, "tag", "v9.8.7", env=env)
    tagged = _build_wheel(tmp_path / "tagged", source=clone)
    assert tagged.name == "infrar-9.8.7-py3-none-any.whl"
    (clone / "NOTES.txt").write_text("later\n")
    git(clone, "add", "NOTES.txt", env=env)
    git(clone, "commit", "-q", "-m", "later", env=env)
    sha = git(clone, "rev-parse", "--short", "HEAD", env=env)
    later = _build_wheel(tmp_path / "later", source=clone)
    assert later.name.startswith("infrar-9.8.8.dev1+g") and sha[:7] in later.name


def test_version_option_prints_the_installed_version() -> None:
    from importlib.metadata import version

    done = subprocess.run([sys.executable, "-c", "from infrar.cli.main import main; main()",
                           "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == f"infrar, version {version('infrar')}\n"


def test_the_sdk_reports_the_installed_version() -> None:
    from importlib.metadata import version

    import infrar

    assert infrar.__version__ == version("infrar")


def test_a_new_folder_of_modules_and_data_ships_without_git_and_without_a_listing(
        tmp_path: Path) -> None:
    """Packages are found, not listed: a new folder with a module and a template ships, from
    a git checkout and from a copy without git metadata (as a container build sees it) alike."""
    env = git_env(tmp_path / "home")
    clone = tmp_path / "clone"
    snapshot(clone, env)
    page = clone / "app" / "pages" / "templates" / "page.html"
    page.parent.mkdir(parents=True)
    (clone / "app" / "pages" / "__init__.py").write_text('"""Pages."""\n')
    page.write_text("<p>{{ text }}</p>\n")
    git(clone, "add", "-A", env=env)
    git(clone, "commit", "-q", "-m", "pages", env=env)
    from_git, output = _build(tmp_path / "git", clone)
    assert _setuptools_warnings(output) == []
    bare = tmp_path / "bare"
    shutil.copytree(clone, bare, ignore=shutil.ignore_patterns(".git"))
    pretend = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": "1.2.3"}
    from_copy, output = _build(tmp_path / "copy", bare, pretend)
    assert _setuptools_warnings(output) == []
    shipped = _package_files(from_git)
    assert {"infrar/app/pages/__init__.py", "infrar/app/pages/templates/page.html"} <= shipped
    missing = shipped - _package_files(from_copy)
    assert not missing, ("shipped from git only; add their suffixes to pyproject.toml's "
                         f"[tool.setuptools.package-data]: {sorted(missing)}")
    assert _package_files(from_copy) == shipped
