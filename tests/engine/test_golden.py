"""Golden before/after tests: golden/<case>/input.py must become
golden/<case>/expected/<provider>.py.

Regenerate the expected files with `INFRAR_UPDATE_GOLDEN=1 pytest tests/engine/test_golden.py`
and review the diff by eye. A provider is skipped only while it has no storage rules; once its
rules exist, a missing expected file fails until it is generated.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from infrar.engine.detect import detect_source
from infrar.engine.plugins import builtin_root
from infrar.engine.transform import transform_source

GOLDEN = Path(__file__).parent / "golden"
PROVIDERS = ("local", "aws", "gcp", "azure")
UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.py").is_file())
UNTOUCHED = ("no_infrar", "lookalikes")


def has_storage_rules(provider: str) -> bool:
    return any((builtin_root() / provider / "services" / "storage").glob("*/transform/rules.yaml"))


def transform(data: bytes, provider: str) -> bytes:
    result = transform_source(data, path="input.py", provider=provider)
    assert not result.diagnostics, "\n".join(map(str, result.diagnostics))
    return result.output if result.output is not None else data


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, provider: str) -> None:
    if not has_storage_rules(provider):
        pytest.skip(f"provider {provider!r} has no storage rules yet")
    source = (GOLDEN / case / "input.py").read_bytes()
    expected_file = GOLDEN / case / "expected" / f"{provider}.py"

    output = transform(source, provider)

    if UPDATE:
        expected_file.parent.mkdir(exist_ok=True)
        if not expected_file.exists() or expected_file.read_bytes() != output:
            expected_file.write_bytes(output)
    else:
        assert expected_file.exists(), (
            f"{expected_file.relative_to(GOLDEN)} is missing; generate it with "
            "INFRAR_UPDATE_GOLDEN=1 and review it")
        assert output == expected_file.read_bytes(), (
            f"{case} for {provider} differs from its golden file; if the change is intended, "
            "regenerate with INFRAR_UPDATE_GOLDEN=1 and review the diff")

    compile(output, f"{case}/expected/{provider}.py", "exec", dont_inherit=True)
    assert transform(output, provider) == output, "transforming the output again changed it"
    assert transform(source, provider) == output, "a second run gave different bytes"
    if case in UNTOUCHED:
        assert output == source


def test_every_case_has_a_local_golden() -> None:
    missing = [c for c in CASES if not (GOLDEN / c / "expected" / "local.py").exists()]
    assert not missing or UPDATE, missing


def test_no_stale_expected_files() -> None:
    """An expected file for a provider that has no rules would never be checked."""
    stale = [f"{c}/expected/{p.stem}" for c in CASES
             for p in (GOLDEN / c / "expected").glob("*.py") if not has_storage_rules(p.stem)]
    assert not stale


def test_line_endings_of_inputs_are_intact() -> None:
    """Guards against a checkout that normalises line endings (see golden/.gitattributes)."""
    crlf = (GOLDEN / "crlf_line_endings" / "input.py").read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n") > 0
    lone_cr = (GOLDEN / "lone_cr_line_endings" / "input.py").read_bytes()
    assert b"\n" not in lone_cr and b"\r" in lone_cr


@pytest.mark.parametrize("case", ["crlf_line_endings", "lone_cr_line_endings"])
def test_added_lines_use_the_file_line_ending(case: str) -> None:
    output = (GOLDEN / case / "expected" / "local.py").read_bytes()
    newline = b"\r\n" if case.startswith("crlf") else b"\r"
    assert output.replace(newline, b"").count(b"\n") == 0
    assert output.replace(newline, b"").count(b"\r") == 0


def test_file_without_infrar_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    invalid = b"def broken(:\n    return )))\n\x00\xff not even text\n"

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file without 'infrar' was parsed")

    monkeypatch.setattr(ast, "parse", refuse)
    result = transform_source(invalid, path="broken.py", provider="local")
    assert result.output is None and not result.diagnostics and not result.changed
    found = detect_source(invalid, path="broken.py")
    assert not found.uses and not found.diagnostics


def test_output_is_identical_across_processes() -> None:
    """Hash randomisation must not reach the output: another process, another seed, same bytes."""
    script = (
        "import hashlib, json, sys\n"
        "from pathlib import Path\n"
        "from infrar.engine.transform import transform_source\n"
        "out = {}\n"
        "for case in json.loads(sys.argv[1]):\n"
        "    data = (Path(sys.argv[2]) / case / 'input.py').read_bytes()\n"
        "    r = transform_source(data, path='input.py', provider='local')\n"
        "    out[case] = hashlib.sha256(r.output or data).hexdigest()\n"
        "print(json.dumps(out))\n"
    )
    here = {c: hashlib.sha256(transform((GOLDEN / c / "input.py").read_bytes(), "local"))
            .hexdigest() for c in CASES}
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", script, json.dumps(CASES), str(GOLDEN)],
                             env=env, capture_output=True, text=True, check=True)
        assert json.loads(run.stdout) == here


def run_module(path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("INFRAR_PROVIDER", "local")
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(workdir / "root"))
    return runpy.run_path(str(path), run_name="golden_module")


def test_local_output_behaves_like_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewritten module and the original (running on the SDK) end in the same state."""
    results = {}
    for name in ("input.py", "expected/local.py"):
        workdir = tmp_path / name.replace("/", "_")
        (workdir / "root" / "assets").mkdir(parents=True)
        (workdir / "a.txt").write_text("alpha")
        namespace = run_module(GOLDEN / "all_operations" / name, workdir, monkeypatch)
        info = namespace["info"]
        results[name] = (
            namespace["content"], namespace["present"], namespace["keys"],
            (info.key, info.size, info.content_type, info.etag),  # type: ignore[attr-defined]
            (workdir / "a-copy.txt").read_text(),
            sorted(p.name for p in (workdir / "root" / "assets").iterdir()),
            str(namespace["link"]).startswith("file://"),
        )
    assert results["input.py"] == results["expected/local.py"]
    assert results["input.py"][:3] == (b"text", True, ["a.txt"])


def test_shadowed_builtins_do_not_reach_generated_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module rebinds `open` to gzip.open and defines `isinstance`: uploads still work."""
    (tmp_path / "root" / "b").mkdir(parents=True)
    (tmp_path / "plain.txt").write_text("not gzip")
    namespace = run_module(GOLDEN / "shadowed_builtins" / "expected" / "local.py", tmp_path,
                           monkeypatch)
    namespace["isinstance"]("plain.txt")  # type: ignore[operator]
    stored = sorted(p.name for p in (tmp_path / "root" / "b").iterdir())
    assert stored == ["plain.txt", "plain.txt.meta"]
    assert (tmp_path / "root" / "b" / "plain.txt").read_text() == "not gzip"
