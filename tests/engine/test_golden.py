"""Golden before/after tests: golden/<case>/input.py must become golden/<case>/expected/output.py.

User-file output is provider independent: only the SDK imports change (they point at the
generated `infrar_native` package, which differs per provider and has golden files of its own,
see test_native.py). Regenerate the expected files with
`INFRAR_UPDATE_GOLDEN=1 pytest tests/engine/test_golden.py` and review the diff by eye.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from infrar.engine import analysis, source
from infrar.engine.detect import detect_source
from infrar.engine.native import PACKAGE, NameTable, package_files
from infrar.engine.transform import transform_source

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = Path("expected") / "output.py"
UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.py").is_file())
UNTOUCHED = ("no_infrar", "lookalikes")
# A line of the output that may differ from the input holds a rewritten import or a name of
# the native package (a load of `infrar` bound by `import infrar`), or is an input line with a
# submodule folded away (`s.errors.StorageError` -> `s.StorageError`).
NATIVE_LINE = re.compile(rb"\b" + PACKAGE.encode() + rb"\b")
SUBMODULE = re.compile(rb"\.(?:errors|types)\.")


def transform(data: bytes) -> bytes:
    result = transform_source(data, path="input.py")
    assert not result.diagnostics, "\n".join(map(str, result.diagnostics))
    return result.output if result.output is not None else data


def changed_lines(before: bytes, after: bytes) -> list[bytes]:
    """The lines of `after` that are not lines of `before`, in a line-by-line diff."""
    old, new = before.splitlines(True), after.splitlines(True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [line for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal"
            for line in new[j1:j2]]


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    source_bytes = (GOLDEN / case / "input.py").read_bytes()
    expected_file = GOLDEN / case / EXPECTED

    output = transform(source_bytes)

    if UPDATE:
        expected_file.parent.mkdir(exist_ok=True)
        if not expected_file.exists() or expected_file.read_bytes() != output:
            expected_file.write_bytes(output)
    else:
        assert expected_file.exists(), (
            f"{case}/{EXPECTED.as_posix()} is missing; generate it with INFRAR_UPDATE_GOLDEN=1 "
            "and review it")
        assert output == expected_file.read_bytes(), (
            f"{case} differs from its golden file; if the change is intended, regenerate with "
            "INFRAR_UPDATE_GOLDEN=1 and review the diff")

    compile(output, f"{case}/{EXPECTED.as_posix()}", "exec", dont_inherit=True)
    assert transform(output) == output, "transforming the output again changed it"
    assert transform(source_bytes) == output, "a second run gave different bytes"
    if case in UNTOUCHED:
        assert output == source_bytes
    else:
        assert output != source_bytes
    folded = {SUBMODULE.sub(b".", line) for line in source_bytes.splitlines(True)}
    stray = [line for line in changed_lines(source_bytes, output)
             if not NATIVE_LINE.search(line) and line not in folded]
    assert not stray, f"lines changed that name no {PACKAGE} module: {stray}"


def test_no_stale_expected_files() -> None:
    """Only expected/output.py is ever checked: anything else there is left over."""
    stale = [f"{c}/expected/{p.name}" for c in CASES
             for p in (GOLDEN / c / "expected").iterdir() if p.name != EXPECTED.name]
    assert not stale


def test_line_endings_of_inputs_are_intact() -> None:
    """Guards against a checkout that normalises line endings (see golden/.gitattributes)."""
    crlf = (GOLDEN / "crlf_line_endings" / "input.py").read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n") > 0
    lone_cr = (GOLDEN / "lone_cr_line_endings" / "input.py").read_bytes()
    assert b"\n" not in lone_cr and b"\r" in lone_cr


@pytest.mark.parametrize("case", ["crlf_line_endings", "lone_cr_line_endings"])
def test_output_keeps_the_file_line_ending(case: str) -> None:
    output = (GOLDEN / case / EXPECTED).read_bytes()
    newline = b"\r\n" if case.startswith("crlf") else b"\r"
    assert output.replace(newline, b"").count(b"\n") == 0
    assert output.replace(newline, b"").count(b"\r") == 0
    assert output.count(newline) == (GOLDEN / case / "input.py").read_bytes().count(newline)


def test_file_without_infrar_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither transform nor detect decodes or parses a file that cannot name the SDK.

    Decoding and parsing are watched by recorders that pass each call on, never by functions
    that raise: pytest parses test sources with `ast.parse` to report a failure, so a raising
    `ast.parse` turned any failure of this test (here a removed keyword argument) into an
    internal error that crashed the xdist worker."""
    invalid = b"def broken(:\n    return )))\n\x00\xff not even text\n"
    calls: list[str] = []
    real_ast_parse, real_decode = ast.parse, source.Source.decode

    def ast_parse(*args: Any, **kwargs: Any) -> Any:
        calls.append("ast.parse")
        return real_ast_parse(*args, **kwargs)

    def decode(data: bytes) -> source.Source:
        calls.append("decode")
        return real_decode(data)

    with monkeypatch.context() as watching:
        watching.setattr(ast, "parse", ast_parse)
        watching.setattr(source.Source, "decode", staticmethod(decode))
        # The recorders see what the engine does: a file that mentions infrar is recorded.
        probe = analysis.read_module(b"import infrar.storage\n", "probe.py")
        recorded, calls[:] = list(calls), []
        result = transform_source(invalid, path="broken.py")
        found = detect_source(invalid, path="broken.py")
        unwatched = list(calls)
    assert probe is not None and recorded == ["decode", "ast.parse"]
    assert result.output is None and not result.diagnostics and not result.changed
    assert not found.uses and not found.diagnostics
    assert unwatched == []


def test_output_is_identical_across_processes() -> None:
    """Hash randomisation must not reach the output: another process, another seed, same bytes."""
    script = (
        "import hashlib, json, sys\n"
        "from pathlib import Path\n"
        "from infrar.engine.transform import transform_source\n"
        "out = {}\n"
        "for case in json.loads(sys.argv[1]):\n"
        "    data = (Path(sys.argv[2]) / case / 'input.py').read_bytes()\n"
        "    r = transform_source(data, path='input.py')\n"
        "    out[case] = hashlib.sha256(r.output or data).hexdigest()\n"
        "print(json.dumps(out))\n"
    )
    here = {c: hashlib.sha256(transform((GOLDEN / c / "input.py").read_bytes())).hexdigest()
            for c in CASES}
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", script, json.dumps(CASES), str(GOLDEN)],
                             env=env, capture_output=True, text=True, check=True)
        assert json.loads(run.stdout) == here


# --- running transformed modules ----------------------------------------------------------------

def _forget_native_package() -> None:
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.fixture
def native_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path where a generated local package is written by `with_package`;
    the package is imported afresh by each test and forgotten after it."""
    folder = tmp_path / "program"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("INFRAR_ENVIRONMENT", raising=False)
    _forget_native_package()
    yield folder
    _forget_native_package()


def with_package(folder: Path, names: NameTable) -> None:
    for relative, data in package_files("local", ["storage"], names).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)


def run_module(path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("INFRAR_PROVIDER", "local")
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(workdir / "root"))
    return runpy.run_path(str(path), run_name="golden_module")


def test_local_output_behaves_like_the_sdk(native_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewritten module, next to a generated local package, and the original (running on
    the SDK) end in the same state; the package writes to the bucket's physical name."""
    with_package(native_dir, {"default": {"bucket": {"assets": "assets-golden"}}})
    (native_dir / "program.py").write_bytes((GOLDEN / "all_operations" / EXPECTED).read_bytes())
    results = {}
    for name, path, bucket in (("sdk", GOLDEN / "all_operations" / "input.py", "assets"),
                               ("native", native_dir / "program.py", "assets-golden")):
        workdir = tmp_path / name
        (workdir / "root" / bucket).mkdir(parents=True)
        (workdir / "a.txt").write_text("alpha")
        namespace = run_module(path, workdir, monkeypatch)
        info = namespace["info"]
        results[name] = (
            namespace["content"], namespace["present"], namespace["keys"],
            (info.key, info.size, info.content_type, info.etag),  # type: ignore[attr-defined]
            type(info).__name__,
            (workdir / "a-copy.txt").read_text(),
            sorted(p.name for p in (workdir / "root" / bucket).iterdir()),
            str(namespace["link"]).startswith("file://"),
            str(namespace["link"]).count(f"/{bucket}/"),
        )
    assert results["native"] == results["sdk"]
    assert results["sdk"][:3] == (b"text", True, ["a.txt"])
    for name, bucket in (("sdk", "assets"), ("native", "assets-golden")):
        assert sorted(p.name for p in (tmp_path / name / "root").iterdir()
                      if not p.name.startswith(".")) == [bucket]
    assert sys.modules[f"{PACKAGE}.storage"].__file__ == str(native_dir / PACKAGE / "storage.py")


def test_exceptions_are_the_native_packages(native_dir: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`except ObjectNotFoundError` in the rewritten module catches what the native code raises,
    and a subclass defined in user code keeps its place in the native hierarchy."""
    with_package(native_dir, {"default": {}})
    (native_dir / "errors_case.py").write_bytes((GOLDEN / "exceptions" / EXPECTED).read_bytes())
    (tmp_path / "root" / "b").mkdir(parents=True)
    namespace = run_module(native_dir / "errors_case.py", tmp_path, monkeypatch)
    native = sys.modules[f"{PACKAGE}.storage"]
    load = cast(Callable[[str], object], namespace["load"])
    classify = cast(Callable[[Exception], str], namespace["classify"])
    assert load("missing") is None
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "elsewhere"))
    with pytest.raises(RuntimeError, match="no bucket") as raised:
        load("k")
    assert type(raised.value.__cause__) is native.BucketNotFoundError
    assert [classify(e) for e in (native.ObjectNotFoundError("x"), native.PermissionDeniedError(),
                                  KeyError("x"), ValueError())] == \
        ["storage", "storage", "denied", "other"]
    report = cast(type, namespace["MissingReport"])
    assert report.__mro__[1:3] == (native.ObjectNotFoundError, native.StorageError)


def test_folded_submodules_are_the_native_module(native_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`from infrar.storage import errors` and `infrar.storage.errors.X` reach the native
    module's own classes once folded."""
    with_package(native_dir, {"default": {}})
    case = native_dir / "folded.py"
    case.write_bytes((GOLDEN / "errors_submodule" / EXPECTED).read_bytes())
    (tmp_path / "root" / "b").mkdir(parents=True)
    namespace = run_module(case, tmp_path, monkeypatch)
    native = sys.modules[f"{PACKAGE}.storage"]
    assert namespace["errors"] is native and namespace["e"] is native
    assert namespace["Missing"] is native.ObjectNotFoundError
    assert namespace["ObjectInfo"] is native.ObjectInfo
    load = cast(Callable[[str], object], namespace["load"])
    assert load("missing") is None
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "elsewhere"))
    with pytest.raises(native.BucketNotFoundError):
        load("k")


def test_shadowed_builtins_do_not_reach_generated_code(
        native_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module rebinds `open` to gzip.open and defines `isinstance`: uploads still work,
    since the native code lives in a module of its own."""
    with_package(native_dir, {"default": {}})
    (native_dir / "shadowed.py").write_bytes((GOLDEN / "shadowed_builtins" / EXPECTED).read_bytes())
    (tmp_path / "root" / "b").mkdir(parents=True)
    (tmp_path / "plain.txt").write_text("not gzip")
    namespace = run_module(native_dir / "shadowed.py", tmp_path, monkeypatch)
    namespace["isinstance"]("plain.txt")  # type: ignore[operator]
    stored = sorted(p.name for p in (tmp_path / "root" / "b").iterdir())
    assert stored == ["plain.txt", "plain.txt.meta"]
    assert (tmp_path / "root" / "b" / "plain.txt").read_text() == "not gzip"
