"""Source that Python accepts in unusual spellings, or that is too deep to analyse: the engine
either handles it exactly as Python would, or refuses it with a diagnostic; it never crashes
and never skips an SDK use silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infrar.engine.detect import detect_source
from infrar.engine.transform import transform_source

FULLWIDTH = "from \uff49nfrar.storage import read\n\nprint(read('photos', 'k'))\n".encode()


def test_an_import_spelled_with_a_fullwidth_letter_is_the_sdk_as_python_reads_it() -> None:
    found = detect_source(FULLWIDTH, path="app.py")
    assert [(u.operation, u.resources) for u in found.uses] == [("read", {"bucket": "photos"})]
    result = transform_source(FULLWIDTH, path="app.py")
    assert result.output is not None
    assert result.output.splitlines()[0] == b"from infrar_native.storage import read"
    assert result.output.splitlines()[1:] == FULLWIDTH.splitlines()[1:]


def test_an_expression_too_deep_to_analyse_is_refused_not_a_crash() -> None:
    data = ("from infrar.storage import read\nx = " + " + ".join(["1"] * 5000)
            + "\nread('photos', 'k')\n").encode()
    for result in (detect_source(data, path="deep.py"), transform_source(data, path="deep.py")):
        assert [d.code for d in result.diagnostics] == ["too-complex"]
        assert str(result.diagnostics[0]).startswith("deep.py:1:1: error: ")


def test_a_non_ascii_file_without_the_sdk_is_still_skipped() -> None:
    data = "x = 'caf\u00e9'\n".encode()
    assert transform_source(data, path="plain.py").output is None
    assert detect_source(data, path="plain.py").uses == []


def test_a_declared_encoding_python_reads_otherwise_is_refused_at_the_declaration() -> None:
    """`# coding: utf-7` lets `+AGkAbgBmAHIAYQBy-` spell `infrar` where no byte does, and
    latin-1 reads byte 0xAA as `ª`, which NFKC folds to `a`: Python imports the SDK there."""
    utf7 = b"# coding: utf-7\nimport +AGkAbgBmAHIAYQBy-.storage as s\nprint(s.read('b', 'k'))\n"
    latin1 = b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\nimport infr\xaar.storage\n"
    for data, where in ((utf7, (1, 1)), (latin1, (3, 12))):
        for result in (detect_source(data, path="app.py"), transform_source(data, path="app.py")):
            assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(*where, "not-utf8")]


def test_a_declared_encoding_that_reads_as_utf8_changes_nothing() -> None:
    data = b"# -*- coding: latin-1 -*-\nimport infrar.storage as s\ns.read('b', 'k')\n"
    result = transform_source(data, path="app.py")
    assert result.ok and result.output == data.replace(b"import infrar.", b"import infrar_native.")
    plain = b"# coding: latin-1\nname = 'caf\xe9'\n"
    assert transform_source(plain, path="plain.py").output is None


def test_the_check_hook_reads_a_named_file_that_spells_the_sdk_unusually(tmp_path: Path) -> None:
    """pre-commit names the committed files; one is checked when the engine would read it."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.py").write_bytes(FULLWIDTH.replace(b"print(read('photos', 'k'))", b"f = read"))
    check = Path(sys.executable).with_name("infrar-check")
    done = subprocess.run([str(check), "app.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "app.py:3:5: error:" in done.stderr


def test_an_import_under_global_binds_the_sdk_in_the_module() -> None:
    """`global s` then `import infrar.storage as s` in a function: module-level `s.read` is
    the SDK, as Python runs it, and a plain `import infrar` there renames the module's loads."""
    aliased = (b"def setup():\n    global s\n    import infrar.storage as s\n\n\n"
               b"s.read('photos', 'k')\n")
    plain = aliased.replace(b"global s", b"global infrar").replace(b" as s", b"").replace(
        b"s.read", b"infrar.storage.read")
    for data in (aliased, plain):
        found = detect_source(data, path="app.py")
        assert [(u.line, u.resources) for u in found.uses] == [(6, {"bucket": "photos"})]
        result = transform_source(data, path="app.py")
        assert result.output == data.replace(b"import infrar.", b"import infrar_native.").replace(
            b"\ninfrar.storage.read", b"\ninfrar_native.storage.read")
