"""Every input the fuzzer or the properties found a bug with, kept under fuzz_regressions/ and
run through the engine's invariants (engine_invariants.py): `*.py.in` are Python modules for
transform and detect, `*.yaml.in` are documents for the YAML reader and the configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from engine_invariants import check_source
from yaml_invariants import PluginCopy, check_yaml

FOLDER = Path(__file__).parent / "fuzz_regressions"
MODULES = sorted(p.name for p in FOLDER.glob("*.py.in"))
DOCUMENTS = sorted(p.name for p in FOLDER.glob("*.yaml.in"))


def test_the_folder_holds_only_inputs() -> None:
    stray = [p.name for p in FOLDER.iterdir()
             if p.name != ".gitattributes" and not p.name.endswith((".py.in", ".yaml.in"))]
    assert not stray and MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module(name: str) -> None:
    check_source((FOLDER / name).read_bytes(), path=name)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    check_yaml((FOLDER / name).read_bytes(), tmp_path)


def test_the_fuzzer_runs_in_tiny_mode(tmp_path: Path) -> None:
    """bench/fuzz_engine.py on each target for a few hundred inputs, one after the other."""
    pytest.importorskip("atheris")
    script = Path(__file__).resolve().parents[2] / "bench" / "fuzz_engine.py"
    for target in ("engine", "yaml"):
        run = subprocess.run([sys.executable, str(script), "--target", target, "-runs=200",
                              "--corpus", str(tmp_path / target), "--artifacts",
                              str(tmp_path / "artifacts")],
                             capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Done 200 runs" in run.stderr
    assert not list((tmp_path / "artifacts").iterdir())


@pytest.mark.parametrize("relative", ["terraform-config/backend.tf.tmpl",
                                      "services/storage/filesystem/terraform/main.tf"])
def test_a_plugin_file_that_is_not_utf8_is_a_problem_at_its_line(
        relative: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from infrar.engine.infra.catalog import validate_plugin_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copy = PluginCopy(tmp_path)
    (copy.root / relative).write_bytes(b"# fine\n\xff\n")
    assert validate_plugin_dir(copy.root) == [f"{copy.root / relative}:2: not UTF-8 text"]
