"""The generated native package for `infrar.kv`, for every provider.

golden_native_kv/<provider>/infrar_native/ holds the package generated from NAMES (two
environments) byte for byte, so a change to a provider's kv rules shows in a diff as that
provider's kv.py. Regenerate with `INFRAR_UPDATE_GOLDEN=1 pytest tests/engine/test_native_kv.py`
and review the diff by eye.

Beyond the bytes: the files are lint- and format-clean, never import the SDK, define exactly the
SDK's public names with the SDK's signatures, and the local module, imported, keeps the contract
with the physical names of the environment it runs in.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import infrar.kv
from infrar.engine import native as generator
from infrar.engine.native import PACKAGE, NameTable, capability_source, package_files, rules_digest

GOLDEN = Path(__file__).parent / "golden_native_kv"
PROVIDERS = ("local", "aws", "gcp", "azure")
UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
CAPABILITIES = ["kv"]
NAMES: NameTable = {
    "production": {"table": {"sessions": "shop-prod-sessions", "carts": "shop-prod-carts"}},
    "staging": {"table": {"sessions": "shop-stg-sessions", "carts": "shop-stg-carts"}},
}
FILES = ("__init__.py", "kv.py", "resources.py")
SDK_FILE = Path(infrar.kv.__file__ or "")
OPERATIONS = [n for n in infrar.kv.__all__ if inspect.isfunction(getattr(infrar.kv, n))]
CLASSES = [n for n in infrar.kv.__all__ if inspect.isclass(getattr(infrar.kv, n))]
RUFF = Path(sys.executable).with_name("ruff")


def generated(provider: str, names: NameTable = NAMES) -> dict[str, bytes]:
    return package_files(provider, CAPABILITIES, names)


def kv_module(provider: str) -> ast.Module:
    return ast.parse(generated(provider)[f"{PACKAGE}/kv.py"])


def write_package(folder: Path, provider: str, names: NameTable = NAMES) -> Path:
    for relative, data in generated(provider, names).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder / PACKAGE


def top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


SDK_TREE = top_level(ast.parse(SDK_FILE.read_bytes()))


def test_the_package_has_the_files_it_needs() -> None:
    for provider in PROVIDERS:
        assert sorted(generated(provider)) == [f"{PACKAGE}/{name}" for name in FILES]


# --- golden files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_golden_package(provider: str, name: str) -> None:
    output = generated(provider)[f"{PACKAGE}/{name}"]
    expected_file = GOLDEN / provider / PACKAGE / name
    if UPDATE:
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        if not expected_file.exists() or expected_file.read_bytes() != output:
            expected_file.write_bytes(output)
    assert expected_file.exists(), (
        f"{expected_file.relative_to(GOLDEN)} is missing; generate it with INFRAR_UPDATE_GOLDEN=1 "
        "and review it")
    assert output == expected_file.read_bytes(), (
        f"{provider}'s {name} differs from its golden file; if the change is intended, "
        "regenerate with INFRAR_UPDATE_GOLDEN=1 and review the diff")
    assert generated(provider)[f"{PACKAGE}/{name}"] == output, "a second run gave different bytes"


def test_no_stale_golden_files() -> None:
    wanted = {Path(p) / PACKAGE / n for p in PROVIDERS for n in FILES}
    found = {p.relative_to(GOLDEN) for p in GOLDEN.rglob("*") if p.is_file()}
    assert found == wanted


# --- what any reader or tool of the user's sees ------------------------------------------------

def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    if not RUFF.exists():
        pytest.skip("ruff is not installed next to this interpreter (it is in the `test` extra)")
    return subprocess.run([str(RUFF), *args], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_ruff_finds_nothing(provider: str, tmp_path: Path) -> None:
    package = write_package(tmp_path, provider)
    lint = _ruff("check", "--isolated", "--target-version", "py310", "--no-cache", str(package))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    layout = _ruff("format", "--isolated", "--line-length", "100", "--check", "--no-cache",
                   str(package))
    assert layout.returncode == 0, layout.stdout + layout.stderr


def _imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
    return found


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_file_imports_the_sdk(provider: str) -> None:
    for relative, data in generated(provider).items():
        assert not [m for m in _imports(ast.parse(data)) if m.split(".")[0] == "infrar"], relative
    assert f"{PACKAGE}.resources" in _imports(kv_module(provider))


NATIVE_CLIENTS = {
    "local": set(),
    "aws": {"boto3", "botocore.exceptions"},
    "gcp": {"google.cloud", "google.api_core.exceptions"},
    # azure.identity only inside the client's function: only token authentication needs it.
    "azure": {"azure.data.tables", "azure.core.exceptions", "azure.identity"},
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_imports_its_own_client_only(provider: str) -> None:
    imported = set(_imports(kv_module(provider))) - {f"{PACKAGE}.resources"}
    third_party = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert third_party == NATIVE_CLIENTS[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_public_names_are_the_sdks(provider: str) -> None:
    tree = kv_module(provider)
    [exported] = [n.value for n in tree.body if isinstance(n, ast.Assign)
                  and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["__all__"]]
    names = ast.literal_eval(exported)
    assert sorted(names) == sorted(infrar.kv.__all__)
    assert set(names) <= set(top_level(tree))


def _signature(node: ast.stmt) -> str:
    assert isinstance(node, ast.FunctionDef)
    returns = ast.dump(node.returns) if node.returns else "(none)"
    return f"{ast.dump(node.args)} -> {returns}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_operations_have_the_sdks_signatures_and_docstrings(provider: str) -> None:
    defined = top_level(kv_module(provider))
    for operation in OPERATIONS:
        node, sdk = defined[operation], SDK_TREE[operation]
        assert _signature(node) == _signature(sdk), operation
        assert isinstance(node, ast.FunctionDef) and isinstance(sdk, ast.FunctionDef)
        assert ast.get_docstring(node) == ast.get_docstring(sdk), operation
        # The table is the only resource: it, and nothing else, goes through the name table.
        resolved = [ast.unparse(s) for s in node.body if isinstance(s, ast.Assign)]
        assert resolved == ["table = physical_name('table', table)"], operation


@pytest.mark.parametrize("provider", PROVIDERS)
def test_classes_are_defined_as_in_the_sdk(provider: str) -> None:
    defined = top_level(kv_module(provider))
    for name in CLASSES:
        node = defined[name]
        assert isinstance(node, ast.ClassDef)
        sdk_bases = [b.__name__ for b in getattr(infrar.kv, name).__bases__ if b is not object]
        assert [ast.unparse(b) for b in node.bases] == sdk_bases, name
        assert ast.get_docstring(node) == getattr(infrar.kv, name).__doc__, name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_runtime_runs_the_same_operations(provider: str) -> None:
    """The SDK executes the very module source (without the classes it brings itself)."""
    package = top_level(ast.parse(capability_source(provider, "kv")))
    runtime = top_level(ast.parse(capability_source(provider, "kv", for_runtime=True)))
    assert not set(CLASSES) & set(runtime)
    assert {n for n in package if n not in CLASSES} == set(runtime)
    for name, node in runtime.items():
        assert ast.dump(node) == ast.dump(package[name]), name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_portable_checks_are_the_same_code_everywhere(provider: str) -> None:
    """Every provider refuses the same keys and values: the checks are one block of code."""
    here, local = top_level(kv_module(provider)), top_level(kv_module("local"))
    for name in ("_check_key", "_check_prefix", "_to_json", "_from_json"):
        assert ast.dump(here[name]) == ast.dump(local[name]), name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_headers_name_the_version_and_the_rules(provider: str) -> None:
    docstring = ast.get_docstring(kv_module(provider)) or ""
    assert f"infrar {generator.__version__}" in docstring and "Do not edit" in docstring
    digest = rules_digest(provider, "kv")
    assert f"(rules {digest})" in docstring
    assert f"{provider}/services/kv/" in docstring
    assert len({rules_digest(p, "kv") for p in PROVIDERS}) == len(PROVIDERS)


# --- the local package, imported -------------------------------------------------------------

def _forget_native_package() -> None:
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.fixture
def native(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The generated local kv module, imported from a temporary folder."""
    write_package(tmp_path / "program", "local")
    monkeypatch.syspath_prepend(str(tmp_path / "program"))
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("INFRAR_ENVIRONMENT", raising=False)
    _forget_native_package()
    module = importlib.import_module(f"{PACKAGE}.kv")
    assert module.__file__ == str(tmp_path / "program" / PACKAGE / "kv.py")
    yield module
    _forget_native_package()


def test_imported_signatures_are_the_sdks(native: ModuleType) -> None:
    for operation in OPERATIONS:
        assert inspect.signature(getattr(native, operation)) == \
            inspect.signature(getattr(infrar.kv, operation)), operation
        assert getattr(native, operation).__doc__ == getattr(infrar.kv, operation).__doc__


def test_imported_classes_have_their_own_names(native: ModuleType) -> None:
    for name in CLASSES:
        cls, sdk = getattr(native, name), getattr(infrar.kv, name)
        assert (cls.__name__, cls.__module__) == (name, f"{PACKAGE}.kv")
        assert cls is not sdk
        assert [b.__name__ for b in cls.__mro__] == [b.__name__ for b in sdk.__mro__]
    assert issubclass(native.KeyNotFoundError, native.KVError)
    assert not issubclass(native.KeyNotFoundError, infrar.kv.KVError)


def test_operations_use_the_physical_names(native: ModuleType, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tables = tmp_path / "root" / ".infrar-kv"
    for environment, suffix in (("staging", "stg"), ("production", "prod")):
        monkeypatch.setenv("INFRAR_ENVIRONMENT", environment)
        for table in ("sessions", "carts"):
            (tables / f"shop-{suffix}-{table}").mkdir(parents=True)
        native.put("sessions", "user/1", {"environment": environment})
        native.put("carts", "user/1", {"items": [environment]})
        assert native.get("sessions", "user/1") == {"environment": environment}
        assert native.scan("carts") == ["user/1"]
        assert sorted(p.name for p in (tables / f"shop-{suffix}-sessions").iterdir()) == \
            ["user%2F1"]
    with pytest.raises(native.KeyNotFoundError):
        native.get("sessions", "user/2")
    with pytest.raises(native.TableNotFoundError):
        native.get("orders", "user/1")  # not in the table, and no folder of that name
    # A name the table does not know (computed at run time) is used as it is.
    (tables / "scratch").mkdir()
    native.put("scratch", "k", {})
    assert native.scan("scratch") == ["k"]
