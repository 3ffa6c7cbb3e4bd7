"""Every install line of the docs works: one repository, named alike everywhere, installed at
a release tag. The lines that can run here run, against a tagged clone of this repository:
the first `pip install` line of docs/install.md into a fresh virtual environment, and the
pre-commit configuration of docs/install.md at its `rev:`; the others must name the same
repository at a tag of the same scheme."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from repo_snapshot import git, git_env, snapshot

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REPOSITORY_URL = PYPROJECT["project"]["urls"]["Source"]
OWNER_AND_NAME = REPOSITORY_URL.removeprefix("https://github.com/")
TAG = re.compile(r"v\d+\.\d+\.\d+")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _code_blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(), re.DOTALL | re.MULTILINE)


def _requirements_in_pip_lines(path: Path) -> list[str]:
    """Each requirement naming Infrar in a `pip install` line of the file: in its shell
    blocks, then in its inline code."""
    text = path.read_text()
    lines = [line for block in _code_blocks(path, "(?:sh|console)")
             for line in block.splitlines()]
    lines += re.findall(r"`([^`\n]*pip install [^`\n]*)`", text)
    found = []
    for line in lines:
        if "pip install " in line:
            words = shlex.split(line.removeprefix("$ "), comments=True)
            found += [w for w in words[words.index("install") + 1:]
                      if re.match(r"infrar\b", w)]
    return found


def _documented_requirements() -> dict[Path, list[str]]:
    return {path: _requirements_in_pip_lines(path) for path in DOCS}


def _pre_commit_configs() -> list[tuple[Path, dict[str, object]]]:
    """Each YAML block of the docs that configures this repository's hooks."""
    found = []
    for path in DOCS:
        for block in _code_blocks(path, "yaml"):
            document = yaml.safe_load(block)
            if isinstance(document, dict) and "repos" in document:
                found += [(path, repo) for repo in document["repos"]]
    return found


def test_every_pip_line_names_the_repository_at_a_release_tag() -> None:
    lines = [(path, line) for path, found in _documented_requirements().items()
             for line in found]
    assert len(lines) >= 6, lines  # install.md (4 + 1 in prose), github-app.md, README.md
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    for path, line in lines:
        requirement = Requirement(line)
        assert requirement.name == "infrar", (path, line)
        assert requirement.extras <= extras, (path, line)
        url, _, ref = (requirement.url or "").rpartition("@")
        assert url == f"git+{REPOSITORY_URL}", (path, line)
        assert TAG.fullmatch(ref), (path, line)


def test_hooks_action_and_app_name_the_one_repository() -> None:
    manifest = json.loads((ROOT / "app" / "manifest.json").read_text())
    assert manifest["url"] == REPOSITORY_URL
    configs = _pre_commit_configs()
    assert len(configs) >= 3, configs  # install.md, pre-commit.md (2)
    for path, repo in configs:
        assert repo["repo"] == REPOSITORY_URL, path
        assert TAG.fullmatch(str(repo["rev"])), path
    uses = [(path, ref) for path in DOCS for block in _code_blocks(path, "yaml")
            for ref in re.findall(r"uses: (infrar/\S+)", block)]
    assert len(uses) >= 6, uses
    for path, ref in uses:
        name, _, version = ref.partition("@")
        assert name == OWNER_AND_NAME and TAG.fullmatch(version), (path, ref)
    # `uses: owner/name@ref` runs the action.yml at the root of the repository at that ref.
    assert (ROOT / "action.yml").is_file() and (ROOT / ".pre-commit-hooks.yaml").is_file()
    mentioned = {m for path in [*DOCS, ROOT / "app" / "manifest.json"]
                 for m in re.findall(r"github\.com/infrar/[\w.-]+", path.read_text())}
    assert mentioned == {REPOSITORY_URL.removeprefix("https://")}


@dataclass(frozen=True)
class Installs:
    """A clone of this repository tagged as docs/install.md names the release, and the two
    installs from it, started at once (each takes tens of seconds, mostly building the wheel
    and fetching dependencies): the first pip line into a fresh virtual environment, and
    pre-commit with the documented configuration on a small project."""

    tag: str
    venv: Path
    pip: subprocess.Popen[str]
    pre_commit: subprocess.Popen[str]


@pytest.fixture(scope="module")
def installs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installs]:
    base = tmp_path_factory.mktemp("release")
    line = _requirements_in_pip_lines(ROOT / "docs" / "install.md")[0]
    tag = line.rpartition("@")[2]
    env = {k: v for k, v in git_env(base / "home").items()
           if not k.startswith(("SETUPTOOLS_SCM", "PIP_", "PRE_COMMIT"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               PRE_COMMIT_HOME=str(base / "pre-commit"))
    clone = base / "infrar"
    snapshot(clone, env)
    git(clone, "tag", "-a", tag, "-m", f"Infrar {tag}", env=env)
    target = base / "venv"
    venv.create(target, with_pip=False)  # this interpreter's pip installs into it
    pip = subprocess.Popen(
        [sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"), "install",
         "--quiet", _with_clone(line, clone)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    project = _project(base / "project", _with_clone(_documented_pre_commit_config(), clone),
                       env)
    pre_commit = subprocess.Popen(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color=never"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield Installs(tag, target, pip, pre_commit)
    for process in (pip, pre_commit):
        if process.poll() is None:
            process.kill()
        process.communicate()


def _documented_pre_commit_config() -> str:
    [block] = [b for b in _code_blocks(ROOT / "docs" / "install.md", "yaml") if "repos:" in b]
    return block


def _project(path: Path, config: str, env: dict[str, str]) -> Path:
    """A git repository with the configuration, a file the hook passes and one it stops."""
    path.mkdir()
    git(path, "init", "-q", env=env)
    (path / ".pre-commit-config.yaml").write_text(config)
    (path / "app.py").write_text(
        'from infrar.storage import write\n\nwrite("photos", "cat.jpg", b"meow")\n')
    (path / "dynamic.py").write_text("import infrar.storage\n\nstore = infrar.storage\n")
    git(path, "add", "-A", env=env)
    return path


def _with_clone(text: str, clone: Path) -> str:
    assert REPOSITORY_URL in text
    return text.replace(REPOSITORY_URL, clone.as_uri())


def test_the_first_pip_line_installs_the_release_in_a_fresh_environment(
        installs: Installs) -> None:
    output, _ = installs.pip.communicate(timeout=600)
    assert installs.pip.returncode == 0, output
    assert "would be ignored" not in output
    version = subprocess.run([str(installs.venv / "bin" / "infrar"), "--version"],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": ""})
    assert version.stdout == f"infrar, version {installs.tag.removeprefix('v')}\n"


def test_the_documented_pre_commit_config_runs_at_the_release_tag(installs: Installs) -> None:
    output, _ = installs.pre_commit.communicate(timeout=600)
    # The hook was installed from the tag and ran: it passes app.py and stops dynamic.py.
    assert installs.pre_commit.returncode == 1, output
    assert "dynamic.py:3:" in output and "app.py" not in output, output
