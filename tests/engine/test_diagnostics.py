"""What the engine refuses to rewrite: exact locations, clear messages, and nothing written.

Removed with the native-package shape, where call sites keep every byte: `fstring` (a `{...=}`
printed the inlined code) and `placement` (hoisted set-up had no line of its own); both inputs
now transform, see test_former_refusals_now_transform.
"""

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
from infrar.engine.native import PACKAGE, package_files
from infrar.engine.plugins import builtin_root, load_rules
from infrar.engine.source import MAX_SOURCE_BYTES
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
    "imported_by_name": (
        ('import importlib\n'
         'storage = importlib.import_module("infrar.storage")\n'),
        2, 11, "dynamic-use", "`infrar.storage` is imported by name"),
    "dunder_import": (
        'sdk = __import__("infrar.storage", fromlist=["read"])\n',
        1, 7, "dynamic-use", "use `import infrar.storage`"),
    "two_sdk_names_for_one_name": (
        ('from infrar.storage import delete\n'
         'delete("photos", "cat.jpg")\n'
         'from infrar.kv import delete\n'),
        2, 1, "rebound-name", "`delete` is imported from infrar and also rebound"),
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
    "name_clash": (
        ('infrar_native = "taken"\n'
         'import infrar.storage\n'
         'data = infrar.storage.read("b", "k")\n'),
        1, 1, "name-clash", "already uses the name `infrar_native`"),
    "name_clash_in_a_function": (
        ('import infrar\n\n'
         'def run(infrar_native):\n'
         '    return infrar.storage.exists("b", infrar_native)\n'),
        3, 9, "name-clash", "import the SDK with `as`"),
}
TRANSFORM_ONLY = ("name-clash",)


def as_bytes(source: bytes | str) -> bytes:
    return source if isinstance(source, bytes) else source.encode()


@pytest.mark.parametrize("name", CASES)
def test_diagnostic_location_and_message(name: str) -> None:
    source, line, col, code, words = CASES[name]
    result = transform_source(as_bytes(source), path="pkg/mod.py")
    assert result.output is None
    assert not result.ok
    first = result.diagnostics[0]
    assert (first.path, first.line, first.col, first.code) == ("pkg/mod.py", line, col, code), first
    assert words in first.message
    assert str(first).startswith(f"pkg/mod.py:{line}:{col}: error: ")


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][3] not in TRANSFORM_ONLY])
def test_detect_reports_the_same_problem(name: str) -> None:
    source, line, col, code, _ = CASES[name]
    found = detect_source(as_bytes(source), path="mod.py")
    assert [(d.line, d.col, d.code) for d in found.diagnostics][:1] == [(line, col, code)]


def test_star_import_of_another_module_is_fine() -> None:
    source = (b"from os.path import *\nimport infrar.storage as s\n"
              b"print(s.exists('b', join('a', 'k')))\n")
    result = transform_source(source, path="mod.py")
    assert result.ok and result.changed
    compile(result.output or b"", "mod.py", "exec")


def test_sdk_star_import_of_a_capability_is_fine() -> None:
    result = transform_source(b"from infrar.storage import *\nread('b', 'k')\n",
                              path="mod.py")
    assert result.ok and result.changed


def test_every_problem_in_a_file_is_reported() -> None:
    source = (b"from infrar.storage import read, upload\n"
              b"f = upload\n"
              b"read('b')\n"
              b"upload(**{})\n")
    result = transform_source(source, path="mod.py")
    assert [(d.line, d.code) for d in result.diagnostics] == [
        (2, "dynamic-use"), (3, "bad-arguments"), (4, "unpacked-arguments")]


def test_module_level_nonlocal_is_a_diagnostic_not_a_crash() -> None:
    # `ast` parses what the compiler refuses; the rebinding is still what gets reported.
    source = b"import infrar.storage as s\nnonlocal s\ns = 1\n"
    result = transform_source(source, path="mod.py")
    assert [(d.line, d.code) for d in result.diagnostics] == [(3, "rebound-name")]
    found = detect_source(source, path="mod.py")
    assert [(d.line, d.code) for d in found.diagnostics] == [(3, "rebound-name")]


def test_a_too_large_file_is_refused_unread() -> None:
    source = b"import infrar.storage as s\n" + b"#" * MAX_SOURCE_BYTES
    for found in (transform_source(source, path="pkg/mod.py").diagnostics,
                  detect_source(source, path="pkg/mod.py").diagnostics):
        assert [(d.line, d.col, d.code) for d in found] == [(1, 1, "too-large")]
        assert f"larger than {MAX_SOURCE_BYTES} bytes" in found[0].message
    fits = b"import infrar.storage as s\n" + b"#" * (MAX_SOURCE_BYTES - 27)
    assert len(fits) == MAX_SOURCE_BYTES and transform_source(fits, path="pkg/mod.py").ok


def test_former_refusals_now_transform() -> None:
    """`{...=}` and SDK imports sharing a line with other statements: the call sites keep
    their bytes, so only the import changes and the printed text is the SDK's."""
    for source in (b'import infrar.storage as s\nprint(f"value: {s.read(\'b\', \'k\') = }")\n',
                   b'"""Doc."""; import infrar.storage as s; data = s.read("b", "k")\n'):
        result = transform_source(source, path="mod.py")
        assert result.ok and result.output is not None
        assert result.output == source.replace(b"import infrar.", b"import infrar_native.")


def test_an_aliased_import_does_not_clash() -> None:
    source = b'infrar_native = "taken"\nimport infrar.storage as s\ndata = s.read("b", "k")\n'
    result = transform_source(source, path="mod.py")
    assert result.ok
    assert result.output == source.replace(b"import infrar.", b"import infrar_native.")


def test_a_mention_in_a_comment_is_not_a_clash() -> None:
    source = (b'# see infrar_native/ in the build\n'
              b'import infrar.storage\ninfrar.storage.read("b", "k")\n')
    result = transform_source(source, path="mod.py")
    assert result.ok, result.diagnostics


@pytest.mark.parametrize("prefix", [b"import os; ", b"if True: "])
def test_a_submodule_import_after_another_statement(prefix: bytes) -> None:
    source = prefix + b'from infrar.storage import errors, read\nread("b", "k")\n'
    result = transform_source(source, path="mod.py")
    assert result.ok, result.diagnostics
    assert result.output is not None
    compile(result.output, "mod.py", "exec", dont_inherit=True)


def test_a_self_documenting_fstring_keeps_its_text() -> None:
    source = b'import infrar.storage\nprint(f"{infrar.storage.exists(\'b\', \'k\') = }")\n'
    result = transform_source(source, path="mod.py")
    assert not result.ok or (result.output is not None
                             and b"{infrar.storage.exists('b', 'k') = }" in result.output)


# --- the command line -------------------------------------------------------------------------

GOOD = 'import infrar.storage as s\n\ndata = s.read("photos", "cat.jpg")\n'
PLAIN = '"""No SDK here."""\nVALUE = 1\n'
BAD = 'from infrar.storage import upload\nf = upload\n'
NATIVE_GOOD = GOOD.replace("import infrar.storage", f"import {PACKAGE}.storage")


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


def test_out_writes_a_tree_per_provider(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    (project / "src/app/data.json").write_text("{}")
    code, out, err = invoke("transform", "src", "--provider", "local", "--out", "build")
    assert code == 0, err
    build = project / "build"
    written = sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())
    assert written == ["local/app/__init__.py", "local/app/main.py", "local/app/util.py",
                       f"local/{PACKAGE}/__init__.py", f"local/{PACKAGE}/resources.py",
                       f"local/{PACKAGE}/storage.py", "local/jobs/nightly.py",
                       "local/requirements.infrar.txt"]
    assert (build / "local/app/util.py").read_text() == PLAIN
    assert (build / "local/app/main.py").read_text() == NATIVE_GOOD
    assert (build / "local/jobs/nightly.py").read_text() == NATIVE_GOOD
    package = package_files("local", ["storage"], {"default": {"bucket": {"photos": "photos"}}})
    assert {p: (build / "local" / p).read_bytes() for p in package} == package
    assert (build / "local/requirements.infrar.txt").read_text() == ""
    assert (project / "src/app/main.py").read_text() == GOOD
    assert "2 file(s) rewritten" in err and out == ""


def test_the_tree_written_by_out_runs_without_the_sdk(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    assert invoke("transform", "src", "--provider", "local", "--out", "build")[0] == 0
    (project / "root/photos").mkdir(parents=True)
    (project / "root/photos/cat.jpg").write_bytes(b"meow")
    env = {**os.environ, "INFRAR_LOCAL_ROOT": str(project / "root")}
    env.pop("INFRAR_ENVIRONMENT", None)
    script = "import sys\nsys.modules['infrar'] = None\nimport app.main\nprint(app.main.data)\n"
    run = subprocess.run([sys.executable, "-c", script], cwd=project / "build/local", env=env,
                         capture_output=True, text=True, check=False)
    assert (run.returncode, run.stdout) == (0, "b'meow'\n"), run.stderr


@pytest.mark.skipif(
    not any((builtin_root() / "aws").glob("services/storage/*/transform/rules.yaml")),
    reason="aws has no storage rules yet")
def test_requirements_list_what_the_provider_needs(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    code, _, err = invoke("transform", "src", "--provider", "aws", "--out", "build")
    assert code == 0, err
    expected = "".join(f"{r}\n" for r in sorted(set(load_rules("aws", "storage").requirements)))
    assert expected
    assert (project / "build/aws/requirements.infrar.txt").read_text() == expected
    assert (project / "build/aws/app/main.py").read_text() == NATIVE_GOOD


def test_in_place_rewrites_only_what_changes(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    plain_before = snapshot(project / "src")["app/util.py"]
    code, _, err = invoke("transform", "src", "--in-place")
    assert code == 0, err
    assert "rewrote src/app/main.py" in err and "rewrote src/jobs/nightly.py" in err
    assert (project / "src/app/main.py").read_text() == NATIVE_GOOD
    assert snapshot(project / "src")["app/util.py"] == plain_before
    assert sorted(p.name for p in (project / "src" / PACKAGE).iterdir()) == \
        ["__init__.py", "resources.py", "storage.py"]
    assert invoke("transform", "src", "--check")[0] == 0


def test_check_exit_codes(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    before = snapshot(project / "src")
    code, out, err = invoke("transform", "src", "--check")
    assert code == 1
    rewrites = err.splitlines()
    assert len(rewrites) == 2 and all(line.startswith("would rewrite ") for line in rewrites)
    assert rewrites[0].endswith("app/main.py") and rewrites[1].endswith("jobs/nightly.py")
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
        assert lines[0].startswith("--- a/") and lines[0].endswith("main.py")
        assert lines[1].startswith("+++ b/") and lines[1].endswith("main.py")
        changes = [line for line in lines[3:] if line[:1] in "+-"]
        assert changes == ["-import infrar.storage as s", "+import infrar_native.storage as s"]
        assert ' data = s.read("photos", "cat.jpg")' in lines
        assert "util.py" not in out
    assert snapshot(project / "src") == before


def test_check_and_diff_name_files_as_given(project: Path) -> None:
    (project / "src/jobs/broken.py").unlink()
    _, _, err = invoke("transform", "src/app/main.py", "--check")
    assert err == "would rewrite src/app/main.py\n"
    _, out, _ = invoke("transform", "src/app")
    assert out.splitlines()[:2] == ["--- a/src/app/main.py", "+++ b/src/app/main.py"]


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
         "resources": {"bucket": "dyn", "destination_bucket": "backup"}},
        {"capability": "storage", "operation": "copy", "path": "app.py", "line": 5, "col": 1,
         "resources": {"bucket": "photos", "destination_bucket": None}},
        {"capability": "storage", "operation": "list_objects", "path": "app.py", "line": 6,
         "col": 20, "resources": {"bucket": "dyn"}},
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
    assert check.returncode == 1 and check.stderr.startswith("would rewrite ")
    assert "app/main.py" in check.stderr and "jobs/nightly.py" in check.stderr
