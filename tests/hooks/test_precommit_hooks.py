"""Each hook of .pre-commit-hooks.yaml, run by the real pre-commit in a real git repository."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from precommit_repos import UserRepo
from repo_snapshot import ROOT

GOOD = '''"""Uses the SDK in ways every provider can rewrite."""
from infrar.storage import read, write

write("photos", "cat.jpg", b"...", content_type="image/jpeg")
print(len(read("photos", "cat.jpg")))
'''
BAD = '''from infrar import storage

operation = getattr(storage, "upload")
'''


def test_manifest_is_valid() -> None:
    done = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                           str(ROOT / ".pre-commit-hooks.yaml")], check=False,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_passes_on_code_every_provider_can_rewrite(user_repo: UserRepo) -> None:
    user_repo.write(".infrar.yaml", "version: 1\nprovider: aws\n"
                    "environments:\n  dev:\n    provider: local\n  prod:\n    provider: gcp\n")
    user_repo.write("app.py", GOOD)
    user_repo.stage(".infrar.yaml", "app.py")
    done = user_repo.pre_commit("run", "infrar-check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "infrar check" in done.stdout and "Passed" in done.stdout


def test_check_fails_with_file_line_col(user_repo: UserRepo) -> None:
    user_repo.write("app.py", GOOD)
    user_repo.write("pkg/bad.py", BAD)
    user_repo.stage("app.py", "pkg/bad.py")
    done = user_repo.pre_commit("run", "infrar-check")
    assert done.returncode == 1
    assert "Failed" in done.stdout
    assert "pkg/bad.py:3:21: error:" in done.stdout
    assert "[dynamic-use]" in done.stdout
    assert "app.py:" not in done.stdout.replace("pkg/bad.py", "")


def test_check_reports_an_unknown_provider_in_the_config(user_repo: UserRepo) -> None:
    user_repo.write(".infrar.yaml", "version: 1\nprovider: aws\n"
                    "environments:\n  prod:\n    provider: ibm\n")
    user_repo.write("app.py", GOOD)
    user_repo.stage(".infrar.yaml", "app.py")
    done = user_repo.pre_commit("run", "infrar-check")
    assert done.returncode == 1
    assert "unknown provider 'ibm'" in done.stdout


def test_generate_rewrites_stale_output_then_passes(user_repo: UserRepo) -> None:
    user_repo.write(".infrar.yaml", "version: 1\nprovider: local\npaths: [src/]\n"
                    "output: generated\n")
    user_repo.write("src/app.py", GOOD)
    user_repo.stage(".infrar.yaml", "src/app.py")

    first = user_repo.pre_commit("run", "infrar-generate")
    assert first.returncode == 1, first.stdout
    tree = user_repo.path / "generated" / "local"
    for relative in ("app.py", "infrar_native/storage.py", "infrar_native/resources.py",
                     "requirements.infrar.txt"):
        assert f"rewrote stale generated/local/{relative}" in first.stdout
    generated = (tree / "app.py").read_text()
    assert "from infrar_native.storage import read, write" in generated
    assert "cat.jpg" in generated

    user_repo.stage("generated")
    second = user_repo.pre_commit("run", "infrar-generate")
    assert second.returncode == 0, second.stdout

    # A hand edit to the generated code is stale output too, and is put back.
    (tree / "app.py").write_text(generated + "# edited\n")
    user_repo.stage("generated")
    third = user_repo.pre_commit("run", "infrar-generate")
    assert third.returncode == 1 and "rewrote stale generated/local/app.py" in third.stdout
    assert "1 generated file stale" in third.stdout  # the rest was up to date
    assert (tree / "app.py").read_text() == generated


def test_generate_refuses_code_it_cannot_rewrite(user_repo: UserRepo) -> None:
    user_repo.write(".infrar.yaml", "version: 1\noutput: out\n")
    user_repo.write("bad.py", BAD)
    user_repo.stage(".infrar.yaml", "bad.py")
    done = user_repo.pre_commit("run", "infrar-generate")
    assert done.returncode == 1
    assert "bad.py:3:21: error:" in done.stdout and "nothing was generated" in done.stdout
    assert not (user_repo.path / "out").exists()


def test_validate_plugins(user_repo: UserRepo) -> None:
    plugin = user_repo.path / "plugins" / "acme"
    shutil.copytree(ROOT / "providers" / "local", plugin)
    manifest = plugin / "provider.yaml"
    manifest.write_text(manifest.read_text().replace("\nname: local\n", "\nname: acme\n"))
    user_repo.write("app/services/users.py", "x = 1\n")  # not a plugin: not validated
    user_repo.stage("plugins", "app")
    good = user_repo.pre_commit("run", "infrar-validate-plugins")
    assert good.returncode == 0, good.stdout

    rules = plugin / "services" / "storage" / "filesystem" / "transform" / "rules.yaml"
    rules.write_text(rules.read_text() + "colour: blue\n")
    user_repo.stage("plugins")
    bad = user_repo.pre_commit("run", "infrar-validate-plugins")
    assert bad.returncode == 1
    assert "plugins/acme/services/storage/filesystem/transform/rules.yaml:" in bad.stdout
    assert "'colour' was unexpected" in bad.stdout


def test_validate_plugins_names_the_missing_file(user_repo: UserRepo) -> None:
    plugin = user_repo.path / "acme"
    shutil.copytree(ROOT / "providers" / "local", plugin)
    manifest = plugin / "provider.yaml"
    manifest.write_text(manifest.read_text().replace("\nname: local\n", "\nname: acme\n"))
    (plugin / "regions.yaml").unlink()
    user_repo.stage("acme")
    done = user_repo.pre_commit("run", "infrar-validate-plugins")
    assert done.returncode == 1
    assert "acme/regions.yaml: missing required file" in done.stdout


def _hook_bench() -> Any:
    spec = importlib.util.spec_from_file_location("hook_bench", ROOT / "bench" / "hook_bench.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_check_imports_nothing_it_does_not_need(tmp_path: Path) -> None:
    bench = _hook_bench()
    (tmp_path / "app.py").write_text(GOOD)
    command = [sys.executable, "-c", "from infrar.cli.check import main; main()", "app.py",
               "-p", "aws", "-p", "gcp", "-p", "local"]
    imported = bench.imported_modules(command, tmp_path)
    assert "infrar.engine.transform" in imported  # the check did run
    leaked = sorted(m for m in imported if any(m == f or m.startswith(f + ".")
                                               for f in bench.FORBIDDEN))
    assert leaked == []


def test_check_validates_what_it_validated_before_without_jsonschema(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _hook_bench()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".infrar.yaml").write_text("version: 1\nprovider: aws\n")
    (project / "app.py").write_text(GOOD)
    command = [sys.executable, "-c", "from infrar.cli.check import main; main()", "app.py"]
    first, second = (bench.imported_modules(command, project) for _ in range(2))
    assert "jsonschema" in first and "infrar.engine.transform" in second
    assert "jsonschema" not in second  # the config, rules and capability were known valid
    (project / ".infrar.yaml").write_text("version: 1\nprovider: 7\n")
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "provider: 7 is not of type 'string'" in done.stderr
