"""`infrar transform` as a face: where it reads (PATHS, else `paths:` of .infrar.yaml, never an
output folder) and that --check writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from faces_support import CONFIGS, SOURCES, read_tree, write_files

from infrar.cli.main import cli


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The faces' two-provider project (`paths: [src]`, `output: generated`), as the
    current directory."""
    root = tmp_path / "project"
    write_files(root, {".infrar.yaml": CONFIGS["two-providers"], **SOURCES,
                       # Outside `paths:`: never transformed.
                       "scripts/seed.py": 'from infrar.storage import write\n\n'
                                          'write("seeds", "a", b"")\n'})
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    for name in ("INFRAR_PROVIDER", "INFRAR_PLUGIN_PATH", "INFRAR_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["transform", *args], catch_exceptions=False)


def test_without_paths_it_transforms_the_configured_paths(project: Path) -> None:
    done = run("--out", "out")
    assert done.exit_code == 0, done.output
    tree = read_tree(project / "out")
    for provider in ("aws", "local"):
        assert f"{provider}/photos/store.py" in tree and f"{provider}/main.py" in tree
    assert not [p for p in tree if "seed" in p or p.split("/")[1] in ("src", "scripts")]
    named = run("--out", "named", "src")
    assert named.exit_code == 0, named.output
    assert read_tree(project / "named") == tree


def test_a_configured_path_that_does_not_exist_is_an_error(project: Path) -> None:
    config = project / ".infrar.yaml"
    config.write_text(config.read_text().replace("paths: [src]", "paths: [src, lib]"))
    done = run("--out", "out")
    assert done.exit_code == 2
    assert "error: .infrar.yaml: paths: lib not found" in done.output
    assert not (project / "out").exists()


def test_check_with_out_writes_nothing_and_reports_what_would_change(project: Path) -> None:
    before = read_tree(project)
    fresh = run("--out", "out", "--check")
    assert fresh.exit_code == 1
    assert "would write out/local/photos/store.py" in fresh.output
    assert "would write out/aws/infrar_native/resources.py" in fresh.output
    assert not (project / "out").exists()
    assert read_tree(project) == before

    assert run("--out", "out").exit_code == 0
    written = read_tree(project / "out")
    assert run("--out", "out", "--check").exit_code == 0  # up to date

    edited = project / "out" / "local" / "util.py"
    edited.write_text("# edited by hand\n")
    (project / "out" / "aws" / "main.py").unlink()
    stale = run("--out", "out", "--check")
    assert stale.exit_code == 1
    assert stale.output.count("would write") == 2
    assert "would write out/local/util.py" in stale.output
    assert "would write out/aws/main.py" in stale.output
    assert edited.read_text() == "# edited by hand\n"
    assert not (project / "out" / "aws" / "main.py").exists()
    assert len(read_tree(project / "out")) == len(written) - 1

    assert run("--out", "out").exit_code == 0
    (project / "src" / "util.py").unlink()  # and main.py, which imports it, is kept as is
    (project / "out" / "notes.txt").write_text("mine\n")
    gone = run("--out", "out", "--check")
    assert gone.exit_code == 1
    assert sorted(line for line in gone.output.splitlines() if "would" in line) == [
        "would remove out/aws/util.py", "would remove out/local/util.py"]
    assert (project / "out" / "local" / "util.py").exists()
    removed = run("--out", "out")
    assert removed.exit_code == 0 and "removed 2 stale file(s)" in removed.output
    assert read_tree(project / "out") == {
        p: d for p, d in written.items() if not p.endswith("/util.py")} | {
        "notes.txt": b"mine\n"}


def test_check_without_out_names_the_sources_it_would_rewrite(project: Path) -> None:
    before = read_tree(project)
    done = run("--check", "--diff")
    assert done.exit_code == 1
    assert "would rewrite src/photos/store.py" in done.output  # the path as the user has it
    assert "+from infrar_native.storage import ObjectNotFoundError, read, write" in done.output
    assert read_tree(project) == before


def test_output_folders_are_never_read_as_source(project: Path) -> None:
    config = project / ".infrar.yaml"
    config.write_text(config.read_text().replace("paths: [src]\n", ""))  # the whole project
    assert run("--out", "out").exit_code == 0
    first = read_tree(project / "out")
    assert "local/src/photos/store.py" in first and "local/scripts/seed.py" in first
    # Run again: neither what it wrote to OUT, nor a committed `output:`, is source.
    write_files(project, {f"generated/{p}": d.decode() for p, d in first.items()})
    assert run("--out", "out").exit_code == 0
    assert read_tree(project / "out") == first


def test_out_may_not_hold_the_sources(project: Path) -> None:
    done = run("--out", ".", "src")
    assert done.exit_code == 2
    assert "holds the source path src" in done.output
    assert not (project / "local").exists()


def test_a_provider_no_longer_deployed_to_leaves_no_tree_behind(project: Path) -> None:
    assert run("--out", "out").exit_code == 0
    (project / "out" / "aws" / "notes.md").write_text("mine\n")
    config = project / ".infrar.yaml"
    config.write_text(config.read_text().replace("provider: aws", "provider: local"))
    done = run("--out", "out")
    assert done.exit_code == 0, done.output
    assert "removed 10 stale file(s)" in done.output
    assert sorted(read_tree(project / "out" / "aws")) == ["notes.md"]  # only the user's file
    names = (project / "out" / "local" / "infrar_native" / "resources.py").read_text()
    assert '"production": {' in names and '"staging": {' in names
