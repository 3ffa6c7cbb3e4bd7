"""What the engine refuses to rewrite: exact locations, clear messages, and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from infrar.cli.main import cli
from infrar.engine.detect import detect_source
from infrar.engine.plugins import builtin_root, load_rules
from infrar.engine.transform import transform_source

# (source, line, col, code, words the message must contain)
CASES: dict[str, tuple[bytes | str, int, int, str, str]] = {
    "getattr": (
        ('from infrar import storage\n\n'
         'def pick(name):\n'
         '    return getattr(storage, "upload")\n'),
        4, 20, "dynamic-use", "`infrar.storage` is used as a value"),
    "function_alias": (
        ('from infrar.storage import upload\n'
         'if True:\n'
         '    f = upload\n'
         '    f("b", "s", "d")\n'),
        3, 9, "dynamic-use", "`infrar.storage.upload` is used as a value"),
    "double_star_kwargs": (
        ('from infrar.storage import upload\n'
         'kw = {"bucket": "b"}\n'
         'x = 1; upload(**kw)\n'),
        3, 8, "unpacked-arguments", "*args or **kwargs"),
    "star_args": (
        ('import infrar.storage as s\n'
         'args = ["b", "k"]\n'
         'data = s.read(*args)\n'),
        3, 8, "unpacked-arguments", "*args or **kwargs"),
    "missing_argument": (
        ('import infrar.storage as s\n\n'
         'def load():\n'
         '    return s.read("b")\n'),
        4, 12, "bad-arguments", "missing a required argument: 'key'"),
    "unknown_keyword": (
        ('import infrar.storage as s\n'
         'data = [s.read("b", "k", colour="red")]\n'),
        2, 9, "bad-arguments", "unexpected keyword argument 'colour'"),
    "too_many_positional": (
        ('import infrar.storage as s\n'
         's.upload("b", "src", "dst", "text/plain")\n'),
        2, 1, "bad-arguments", "too many positional arguments"),
    "star_import_of_package": (
        ('"""Doc."""\n'
         'from infrar import *\n'),
        2, 1, "star-import", "`from infrar import *` cannot be resolved"),
    "nonexistent_operation": (
        ('import infrar.storage as s\n'
         'print(s.nonexistent("b"))\n'),
        2, 7, "unknown-name", "`infrar.storage.nonexistent` is not part of the Infrar SDK"),
    "nonexistent_import": (
        ('import json\n'
         'from infrar.storage import read, nonexistent\n'),
        2, 1, "unknown-name", "`infrar.storage.nonexistent` is not part of the Infrar SDK"),
    "nonexistent_module": (
        'import infrar.queues\n',
        1, 1, "unknown-module", "`infrar.queues` is not an Infrar SDK module"),
    "module_as_value": (
        ('import infrar.storage as s\n'
         'register(name="x", backend=s)\n'),
        2, 28, "dynamic-use", "`infrar.storage` is used as a value"),
    "rebound_by_assignment": (
        ('from infrar.storage import read\n'
         'print(read("b", "k"))\n'
         'x = 0; read = None\n'),
        3, 8, "rebound-name", "`read` is imported from infrar and rebound"),
    "rebound_by_loop": (
        ('import infrar.storage as s\n'
         'for x, s in []:\n'
         '    pass\n'),
        2, 8, "rebound-name", "`s` is imported from infrar and rebound"),
    "rebound_by_def": (
        ('import infrar.storage as s\n\n\n'
         'def s():\n'
         '    pass\n'),
        4, 1, "rebound-name", "`s` is imported from infrar and rebound"),
    "rebound_through_global": (
        ('import infrar.storage as s\n\n'
         'def reset():\n'
         '    global s\n'
         '    s = None\n'),
        5, 5, "rebound-name", "`s` is imported from infrar and rebound"),
    "rebound_through_nonlocal": (
        ('def outer():\n'
         '    import infrar.storage as s\n'
         '    def inner():\n'
         '        nonlocal s\n'
         '        s = None\n'
         '    return s.read("b", "k")\n'),
        5, 9, "rebound-name", "`s` is imported from infrar and rebound"),
    "rebound_before_import": (
        ('s = "shadow"\n'
         'import infrar.storage as s\n'
         'data = s.read("b", "k")\n'),
        3, 8, "rebound-name", "also rebound in the same scope"),
    "syntax_error": (
        ('import infrar.storage as s\n'
         'data = s.read("b", "k"\n'
         'print(data)\n'),
        2, 14, "syntax-error", "syntax error: '(' was never closed"),
    "syntax_error_after_non_ascii": (
        ('import infrar.storage as s\n'
         'título = "çà" + = 2\n'),
        2, 17, "syntax-error", "syntax error: invalid syntax"),
    "not_utf8": (
        (b'import infrar.storage as s\n'
         b'name = "\xc3\xa9t\xe9"\n'),
        2, 11, "not-utf8", "not valid UTF-8"),
    "nul_byte": (
        (b'import infrar.storage as s\n'
         b'name = "\xc3\xa9\x00"\n'),
        2, 10, "binary", "NUL byte"),
    "self_documenting_fstring": (
        ('import infrar.storage as s\n'
         'print(f"value: {s.read(\'b\', \'k\') = }")\n'),
        2, 17, "fstring", "`{...=}` would print the rewritten code"),
    "setup_cannot_be_placed": (
        '"""Doc."""; import infrar.storage as s; data = s.read("b", "k")\n',
        1, 13, "placement", "put the imports on lines of their own"),
}


def as_bytes(source: bytes | str) -> bytes:
    return source if isinstance(source, bytes) else source.encode()


@pytest.mark.parametrize("name", CASES)
def test_diagnostic_location_and_message(name: str) -> None:
    source, line, col, code, words = CASES[name]
    result = transform_source(as_bytes(source), path="pkg/mod.py", provider="local")
    assert result.output is None
    assert not result.ok
    first = result.diagnostics[0]
    assert (first.path, first.line, first.col, first.code) == ("pkg/mod.py", line, col, code), first
    assert words in first.message
    assert str(first).startswith(f"pkg/mod.py:{line}:{col}: error: ")


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][3] not in ("fstring", "placement")])
def test_detect_reports_the_same_problem(name: str) -> None:
    source, line, col, code, _ = CASES[name]
    found = detect_source(as_bytes(source), path="mod.py")
    assert [(d.line, d.col, d.code) for d in found.diagnostics][:1] == [(line, col, code)]


def test_star_import_of_another_module_is_fine() -> None:
    source = (b"from os.path import *\nimport infrar.storage as s\n"
              b"print(s.exists('b', join('a', 'k')))\n")
    result = transform_source(source, path="mod.py", provider="local")
    assert result.ok and result.changed
    compile(result.output or b"", "mod.py", "exec")


def test_sdk_star_import_of_a_capability_is_fine() -> None:
    result = transform_source(b"from infrar.storage import *\nread('b', 'k')\n",
                              path="mod.py", provider="local")
    assert result.ok and result.changed


def test_every_problem_in_a_file_is_reported() -> None:
    source = (b"from infrar.storage import read, upload\n"
              b"f = upload\n"
              b"read('b')\n"
              b"upload(**{})\n")
    result = transform_source(source, path="mod.py", provider="local")
    assert [(d.line, d.code) for d in result.diagnostics] == [
        (2, "dynamic-use"), (3, "bad-arguments"), (4, "unpacked-arguments")]


def test_module_level_nonlocal_is_a_diagnostic_not_a_crash() -> None:
    # `ast` parses what the compiler refuses; the rebinding is still what gets reported.
    source = b"import infrar.storage as s\nnonlocal s\ns = 1\n"
    result = transform_source(source, path="mod.py", provider="local")
    assert [(d.line, d.code) for d in result.diagnostics] == [(3, "rebound-name")]
    found = detect_source(source, path="mod.py")
    assert [(d.line, d.code) for d in found.diagnostics] == [(3, "rebound-name")]


# --- the command line -------------------------------------------------------------------------

GOOD = 'import infrar.storage as s\n\ndata = s.read("photos", "cat.jpg")\n'
PLAIN = '"""No SDK here."""\nVALUE = 1\n'
BAD = 'from infrar.storage import upload\nf = upload\n'


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Several good files and one bad one, addressed by relative paths from the project root."""
    monkeypatch.chdir(tmp_path)
    files = {"src/app/main.py": GOOD, "src/app/util.py": PLAIN, "src/jobs/nightly.py": GOOD,
             "src/jobs/broken.py": BAD, "src/app/__init__.py": ""}
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    return tmp_path


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("mode", [["--out", "build"], ["--in-place"], ["--check"], ["--diff"], []])
def test_one_bad_file_blocks_every_write(project: Path, mode: list[str]) -> None:
    before = snapshot(project / "src")
    code, out, err = invoke("transform", "src", "--provider", "local", *mode)
    assert code == 2
    assert "src/jobs/broken.py:2:5: error: `infrar.storage.upload` is used as a value" in err
    assert "nothing was written" in err
    assert out == ""
    assert snapshot(project / "src") == before
    assert not (project / "build").exists()


def test_out_into_an_existing_empty_directory_stays_empty(project: Path) -> None:
    (project / "build").mkdir()
    code, _, _ = invoke("transform", "src", "--out", "build")
    assert code == 2
    assert list((project / "build").iterdir()) == []


def test_out_writes_a_mirror_and_requirements(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    (project / "src/app/data.json").write_text("{}")
    code, out, err = invoke("transform", "src", "--provider", "local", "--out", "build")
    assert code == 0, err
    written = sorted(str(p.relative_to(project / "build"))
                     for p in (project / "build").rglob("*") if p.is_file())
    assert written == ["app/__init__.py", "app/main.py", "app/util.py", "jobs/nightly.py",
                       "requirements.infrar.txt"]
    assert (project / "build/app/util.py").read_text() == PLAIN
    main = (project / "build/app/main.py").read_text()
    assert "infrar.storage" not in main and 'data = _infrar_read("photos", "cat.jpg")' in main
    assert (project / "build/requirements.infrar.txt").read_text() == ""
    assert (project / "src/app/main.py").read_text() == GOOD
    assert "rewritten" in err and out == ""


@pytest.mark.skipif(
    not any((builtin_root() / "aws").glob("services/storage/*/transform/rules.yaml")),
    reason="aws has no storage rules yet")
def test_requirements_list_what_the_provider_needs(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    code, _, err = invoke("transform", "src", "--provider", "aws", "--out", "build")
    assert code == 0, err
    expected = "".join(f"{r}\n" for r in sorted(set(load_rules("aws", "storage").requirements)))
    assert expected
    assert (project / "build/requirements.infrar.txt").read_text() == expected


def test_in_place_rewrites_only_what_changes(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    plain_before = snapshot(project / "src")["app/util.py"]
    code, _, err = invoke("transform", "src", "--in-place")
    assert code == 0, err
    assert "rewrote src/app/main.py" in err and "rewrote src/jobs/nightly.py" in err
    assert "infrar.storage" not in (project / "src/app/main.py").read_text()
    assert snapshot(project / "src")["app/util.py"] == plain_before
    assert invoke("transform", "src", "--check")[0] == 0


def test_check_exit_codes(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    before = snapshot(project / "src")
    code, out, err = invoke("transform", "src", "--check")
    assert code == 1
    assert "would rewrite src/app/main.py" in err and "would rewrite src/jobs/nightly.py" in err
    assert "util.py" not in err and out == ""
    assert snapshot(project / "src") == before
    assert invoke("transform", "src/app/util.py", "--check")[0] == 0


def test_diff_output(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    before = snapshot(project / "src")
    for args in (["--diff"], []):
        code, out, _ = invoke("transform", "src/app", *args)
        assert code == 0
        lines = out.splitlines()
        assert lines[:2] == ["--- a/src/app/main.py", "+++ b/src/app/main.py"]
        assert "-import infrar.storage as s" in lines
        assert '-data = s.read("photos", "cat.jpg")' in lines
        assert '+data = _infrar_read("photos", "cat.jpg")' in lines
        assert "util.py" not in out
    assert snapshot(project / "src") == before


def test_out_and_in_place_exclude_each_other(project: Path) -> None:
    code, _, err = invoke("transform", "src", "--out", "build", "--in-place")
    assert code == 2 and "exclude each other" in err
    assert not (project / "build").exists()


def test_unknown_provider_is_a_diagnostic(project: Path) -> None:
    code, _, err = invoke("transform", "src/app", "--provider", "nowhere")
    assert code == 2 and "unknown provider 'nowhere'" in err


def test_files_without_infrar_are_not_parsed(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("broken.py").write_bytes(b"def (:\n\x00\xff\n")
    assert invoke("transform", "broken.py", "--check")[0] == 0
    assert invoke("detect", "broken.py", "--json")[0] == 0


def test_detect_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("app.py").write_text(
        "import infrar.storage as s\n"
        "name = 'dyn'\n"
        "s.upload('photos', 'a.jpg', 'a.jpg')\n"
        "x = 1; s.copy(name, 'a', 'b', destination_bucket='backup')\n"
        "s.copy('photos', 'a', 'b', destination_bucket=name.upper())\n"
        "keys = [k for k in s.list_objects(bucket=name)]\n")
    code, out, err = invoke("detect", "app.py", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["diagnostics"] == []
    assert report["uses"] == [
        {"capability": "storage", "operation": "upload", "path": "app.py", "line": 3, "col": 1,
         "resources": {"bucket": "photos"}},
        {"capability": "storage", "operation": "copy", "path": "app.py", "line": 4, "col": 8,
         "resources": {"bucket": None, "destination_bucket": "backup"}},
        {"capability": "storage", "operation": "copy", "path": "app.py", "line": 5, "col": 1,
         "resources": {"bucket": "photos", "destination_bucket": None}},
        {"capability": "storage", "operation": "list_objects", "path": "app.py", "line": 6,
         "col": 20, "resources": {"bucket": None}},
    ]


def test_detect_text_and_diagnostics(project: Path) -> None:
    code, out, err = invoke("detect", "src")
    assert code == 2
    assert "src/app/main.py:3:8: storage.read bucket=photos" in out
    assert "src/jobs/broken.py:2:5: error:" in err
    code, out, _ = invoke("detect", "src", "--json")
    assert code == 2
    diagnostics = json.loads(out)["diagnostics"]
    assert [(d["path"], d["line"], d["col"], d["code"]) for d in diagnostics] == [
        ("src/jobs/broken.py", 2, 5, "dynamic-use")]


def test_console_script(project: Path) -> None:
    """The installed `infrar` entry point, as users run it."""
    script = Path(sys.executable).with_name("infrar")
    if not script.exists():
        pytest.skip("the infrar console script is not installed next to this interpreter")
    env = {**os.environ, "INFRAR_PROVIDER": "local"}
    bad = subprocess.run([str(script), "transform", "src", "--out", "build"], env=env,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "src/jobs/broken.py:2:5" in bad.stderr
    assert not (project / "build").exists()
    (project / "src/jobs/broken.py").unlink()
    check = subprocess.run([str(script), "transform", "src", "--check"], env=env,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 1 and "would rewrite src/app/main.py" in check.stderr
