"""The generated native package, `infrar_native`, for every provider.

golden_native/<provider>/infrar_native/ holds the package generated from NAMES (two
environments) byte for byte, so a change to a provider's rules shows in a diff as that
provider's storage.py. Regenerate with `INFRAR_UPDATE_GOLDEN=1 pytest tests/engine/test_native.py`
and review the diff by eye.

Beyond the bytes: the files are lint- and format-clean, never import the SDK, define exactly the
SDK's public names with the SDK's signatures, and pick physical names by INFRAR_ENVIRONMENT.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import infrar.storage
from infrar.engine import native as generator
from infrar.engine.native import (
    PACKAGE,
    NameTable,
    capability_source,
    package_files,
    rules_digest,
)

GOLDEN = Path(__file__).parent / "golden_native"
PROVIDERS = ("local", "aws", "gcp", "azure")
UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
CAPABILITIES = ["storage"]
NAMES: NameTable = {
    "production": {"bucket": {"photos": "acme-photos-prod", "backups": "acme-backups-prod"}},
    "staging": {"bucket": {"photos": "acme-photos-stg", "backups": "acme-backups-stg"}},
}
FILES = ("__init__.py", "resources.py", "storage.py")
SDK_FILE = Path(infrar.storage.__file__ or "")
OPERATIONS = [n for n in infrar.storage.__all__ if inspect.isfunction(getattr(infrar.storage, n))]
CLASSES = [n for n in infrar.storage.__all__ if inspect.isclass(getattr(infrar.storage, n))]
RUFF = Path(sys.executable).with_name("ruff")


def generated(provider: str, names: NameTable = NAMES) -> dict[str, bytes]:
    return package_files(provider, CAPABILITIES, names)


def write_package(folder: Path, provider: str, names: NameTable = NAMES) -> Path:
    for relative, data in generated(provider, names).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder / PACKAGE


def module_ast(data: bytes) -> ast.Module:
    return ast.parse(data)


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


def test_the_package_is_identical_across_processes() -> None:
    """Hash randomisation must not reach the package: other seeds, same bytes."""
    script = ("import hashlib, json, sys\n"
              "from infrar.engine import native\n"
              f"native.__version__ = {generator.__version__!r}\n"
              "from infrar.engine.native import package_files\n"
              "names = json.loads(sys.argv[1])\n"
              "print(json.dumps({p: {k: hashlib.sha256(v).hexdigest() for k, v in "
              "package_files(p, ['storage'], names).items()} for p in json.loads(sys.argv[2])}))\n")
    here = {p: {k: hashlib.sha256(v).hexdigest() for k, v in generated(p).items()}
            for p in PROVIDERS}
    for seed in ("3", "4242"):
        run = subprocess.run([sys.executable, "-c", script, json.dumps(NAMES),
                              json.dumps(PROVIDERS)], env={**os.environ, "PYTHONHASHSEED": seed},
                             capture_output=True, text=True, check=True)
        assert json.loads(run.stdout) == here


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


def test_ruff_would_notice(tmp_path: Path) -> None:
    """The two checks above can fail: a badly formatted, lint-dirty module is reported."""
    (tmp_path / "bad.py").write_text("import os\nx  =  1\n")
    assert _ruff("check", "--isolated", "--no-cache", str(tmp_path)).returncode == 1
    assert _ruff("format", "--isolated", "--check", "--no-cache", str(tmp_path)).returncode == 1


def imported_modules(tree: ast.Module) -> list[str]:
    """Every module an `import` statement or a literal `import_module`/`__import__` names."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                found.append(str(node.args[0].value))
    return found


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_file_imports_the_sdk(provider: str) -> None:
    for relative, data in generated(provider).items():
        modules = imported_modules(module_ast(data))
        assert not [m for m in modules if m.split(".")[0] == "infrar"], relative
    storage = imported_modules(module_ast(generated(provider)[f"{PACKAGE}/storage.py"]))
    assert f"{PACKAGE}.resources" in storage


def test_the_import_check_would_notice() -> None:
    tree = ast.parse("import infrar.storage as s\nfrom infrar import storage\n"
                     "importlib.import_module('infrar.storage')\n")
    assert imported_modules(tree) == ["infrar.storage", "infrar", "infrar.storage"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_public_names_are_the_sdks(provider: str) -> None:
    tree = module_ast(generated(provider)[f"{PACKAGE}/storage.py"])
    [exported] = [n.value for n in tree.body if isinstance(n, ast.Assign)
                  and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["__all__"]]
    names = ast.literal_eval(exported)
    assert sorted(names) == sorted(infrar.storage.__all__)
    assert set(names) <= set(top_level(tree))
    package_all = [n.value for n in module_ast(generated(provider)[f"{PACKAGE}/__init__.py"]).body
                   if isinstance(n, ast.Assign)]
    assert [ast.literal_eval(v) for v in package_all] == [CAPABILITIES]


def _signature(node: ast.stmt) -> str:
    assert isinstance(node, ast.FunctionDef)
    returns = ast.dump(node.returns) if node.returns else "(none)"
    return f"{ast.dump(node.args)} -> {returns}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_operations_have_the_sdks_signatures_and_docstrings(provider: str) -> None:
    defined = top_level(module_ast(generated(provider)[f"{PACKAGE}/storage.py"]))
    for operation in OPERATIONS:
        node, sdk = defined[operation], SDK_TREE[operation]
        assert _signature(node) == _signature(sdk), operation
        assert isinstance(node, ast.FunctionDef) and isinstance(sdk, ast.FunctionDef)
        assert ast.get_docstring(node) == ast.get_docstring(sdk), operation
        assert not node.decorator_list


@pytest.mark.parametrize("provider", PROVIDERS)
def test_classes_are_defined_as_in_the_sdk(provider: str) -> None:
    """Same names, same hierarchy by name, same ObjectInfo fields."""
    defined = top_level(module_ast(generated(provider)[f"{PACKAGE}/storage.py"]))
    for name in CLASSES:
        node = defined[name]
        assert isinstance(node, ast.ClassDef)
        sdk_bases = [b.__name__ for b in getattr(infrar.storage, name).__bases__
                     if b is not object]
        assert [ast.unparse(b) for b in node.bases] == sdk_bases, name
    info = defined["ObjectInfo"]
    assert isinstance(info, ast.ClassDef)
    fields = [(s.target.id, ast.unparse(s.annotation)) for s in info.body
              if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
    assert fields == [(f.name, str(f.type)) for f in dataclasses.fields(infrar.storage.ObjectInfo)]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_runtime_runs_the_same_operations(provider: str) -> None:
    """The SDK executes the very module source (without the classes it brings itself)."""
    package = top_level(ast.parse(capability_source(provider, "storage")))
    runtime = top_level(ast.parse(capability_source(provider, "storage", for_runtime=True)))
    assert not set(CLASSES) & set(runtime)
    assert {n for n in package if n not in CLASSES} == set(runtime)
    for name, node in runtime.items():
        assert ast.dump(node) == ast.dump(package[name]), name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_headers_name_the_version_and_the_rules(provider: str) -> None:
    files = {k.rsplit("/", 1)[1]: ast.get_docstring(module_ast(v)) or ""
             for k, v in generated(provider).items()}
    for name, docstring in files.items():
        assert f"infrar {generator.__version__}" in docstring, name
        assert provider in docstring.splitlines()[0] or f"the {provider} provider" in docstring
        assert "Do not edit" in docstring, name
    digest = rules_digest(provider, "storage")
    assert len(digest) == 12 and f"(rules {digest})" in files["storage.py"]
    assert f"{provider}/services/storage/" in files["storage.py"]
    assert len({rules_digest(p, "storage") for p in PROVIDERS}) == len(PROVIDERS)


# --- the local package, imported -------------------------------------------------------------

def _forget_native_package() -> None:
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.fixture
def native(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The generated local storage module, imported from a temporary folder."""
    write_package(tmp_path / "program", "local")
    monkeypatch.syspath_prepend(str(tmp_path / "program"))
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("INFRAR_ENVIRONMENT", raising=False)
    _forget_native_package()
    module = importlib.import_module(f"{PACKAGE}.storage")
    assert module.__file__ == str(tmp_path / "program" / PACKAGE / "storage.py")
    yield module
    _forget_native_package()


def test_imported_signatures_are_the_sdks(native: ModuleType) -> None:
    for operation in OPERATIONS:
        assert inspect.signature(getattr(native, operation)) == \
            inspect.signature(getattr(infrar.storage, operation)), operation
        assert getattr(native, operation).__doc__ == getattr(infrar.storage, operation).__doc__


def test_imported_classes_have_their_own_names(native: ModuleType) -> None:
    for name in CLASSES:
        cls, sdk = getattr(native, name), getattr(infrar.storage, name)
        assert (cls.__name__, cls.__qualname__) == (name, name)
        assert cls.__module__ == f"{PACKAGE}.storage"
        assert cls is not sdk
        assert [b.__name__ for b in cls.__mro__] == [b.__name__ for b in sdk.__mro__]
    assert issubclass(native.ObjectNotFoundError, native.StorageError)
    assert not issubclass(native.ObjectNotFoundError, infrar.storage.StorageError)
    assert [f.name for f in dataclasses.fields(native.ObjectInfo)] == \
        [f.name for f in dataclasses.fields(infrar.storage.ObjectInfo)]


def test_the_package_reaches_its_capabilities_as_attributes(native: ModuleType) -> None:
    package = importlib.import_module(PACKAGE)
    assert package.storage is native
    with pytest.raises(AttributeError, match="has no attribute 'queues'"):
        _ = package.queues


def test_operations_use_the_physical_names(native: ModuleType, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    for environment in ("staging", "production"):
        monkeypatch.setenv("INFRAR_ENVIRONMENT", environment)
        suffix = "stg" if environment == "staging" else "prod"
        for bucket in ("photos", "backups"):
            (root / f"acme-{bucket}-{suffix}").mkdir(parents=True)
        native.write("photos", "cat.jpg", environment)
        native.copy("photos", "cat.jpg", "cat-copy.jpg", destination_bucket="backups")
        native.copy("photos", "cat.jpg", "cat-2.jpg")
        assert native.read("photos", "cat.jpg") == environment.encode()
        assert native.list_objects("photos") == ["cat-2.jpg", "cat.jpg"]
        assert native.list_objects("backups") == ["cat-copy.jpg"]
        assert sorted(p.name for p in (root / f"acme-photos-{suffix}").iterdir()) == \
            ["cat-2.jpg", "cat.jpg"]
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [
        "acme-backups-prod", "acme-backups-stg", "acme-photos-prod", "acme-photos-stg"]
    with pytest.raises(native.ObjectNotFoundError):
        native.read("photos", "missing.jpg")
    # A name the table does not know (computed at run time) is used as it is.
    (root / "scratch").mkdir()
    native.write("scratch", "k", b"v")
    assert (root / "scratch" / "k").read_bytes() == b"v"


# --- choosing the environment ---------------------------------------------------------------

def load_resources(folder: Path, names: NameTable) -> ModuleType:
    """resources.py of a package generated for `names`, loaded on its own (it needs only os)."""
    write_package(folder, "local", names)
    path = folder / PACKAGE / "resources.py"
    spec = importlib.util.spec_from_file_location(f"resources_{folder.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("INFRAR_ENVIRONMENT", raising=False)
    return monkeypatch


def test_the_environment_variable_picks_the_names(tmp_path: Path,
                                                  environment: pytest.MonkeyPatch) -> None:
    resources = load_resources(tmp_path, NAMES)
    for name, physical in (("staging", "acme-photos-stg"), ("production", "acme-photos-prod")):
        environment.setenv("INFRAR_ENVIRONMENT", name)
        assert resources.current_environment() == name
        assert resources.physical_name("bucket", "photos") == physical
    assert resources.physical_name("bucket", "computed-at-run-time") == "computed-at-run-time"
    assert resources.physical_name("queue", "photos") == "photos"


def test_an_unknown_environment_names_the_known_ones(tmp_path: Path,
                                                     environment: pytest.MonkeyPatch) -> None:
    resources = load_resources(tmp_path, NAMES)
    environment.setenv("INFRAR_ENVIRONMENT", "qa")
    with pytest.raises(resources.UnknownEnvironmentError) as raised:
        resources.physical_name("bucket", "photos")
    assert str(raised.value) == ("INFRAR_ENVIRONMENT='qa'; this build serves production, staging: "
                                 "set one of them")
    assert isinstance(raised.value, LookupError)


def test_unset_with_several_environments_is_an_error(tmp_path: Path,
                                                     environment: pytest.MonkeyPatch) -> None:
    resources = load_resources(tmp_path, NAMES)
    assert resources.DEFAULT_ENVIRONMENT is None
    with pytest.raises(resources.UnknownEnvironmentError,
                       match="^INFRAR_ENVIRONMENT is not set; this build serves production, "
                             "staging: set one of them$"):
        resources.physical_name("bucket", "photos")
    # Even a name the table does not know: the program runs in no environment at all.
    with pytest.raises(resources.UnknownEnvironmentError):
        resources.physical_name("bucket", "computed-at-run-time")


def test_unset_with_one_environment_uses_it(tmp_path: Path,
                                            environment: pytest.MonkeyPatch) -> None:
    resources = load_resources(tmp_path, {"production": NAMES["production"]})
    assert resources.current_environment() == "production"
    assert resources.physical_name("bucket", "photos") == "acme-photos-prod"
    environment.setenv("INFRAR_ENVIRONMENT", "staging")
    with pytest.raises(resources.UnknownEnvironmentError, match="serves production: "):
        resources.physical_name("bucket", "photos")


def test_unset_with_a_default_environment_uses_it(tmp_path: Path,
                                                  environment: pytest.MonkeyPatch) -> None:
    names = {**NAMES, "default": {"bucket": {"photos": "acme-photos"}}}
    resources = load_resources(tmp_path, names)
    assert resources.physical_name("bucket", "photos") == "acme-photos"
    environment.setenv("INFRAR_ENVIRONMENT", "staging")
    assert resources.physical_name("bucket", "photos") == "acme-photos-stg"


def test_the_environment_is_read_when_a_name_is_needed(tmp_path: Path) -> None:
    """In a process of its own: the variable set after the import still counts."""
    write_package(tmp_path, "local")
    script = ("import os\n"
              "from infrar_native.resources import physical_name\n"
              "os.environ['INFRAR_ENVIRONMENT'] = 'staging'\n"
              "print(physical_name('bucket', 'backups'))\n")
    env = {k: v for k, v in os.environ.items() if k != "INFRAR_ENVIRONMENT"}
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert run.stdout == "acme-backups-stg\n"
