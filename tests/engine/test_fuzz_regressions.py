"""Every input the fuzzer or the properties found a bug with, kept under fuzz_regressions/ and
run through the engine's invariants (engine_invariants.py): `*.py.in` are Python modules for
transform and detect, `*.yaml.in` are documents for the YAML reader and the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_invariants import check_source
from yaml_invariants import check_yaml

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
