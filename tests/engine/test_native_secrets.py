"""The generated native package for the secrets capability, `infrar_native.secrets`.

golden_native_secrets/<provider>/infrar_native/ holds the package generated from NAMES (two
environments) byte for byte, so a change to a provider's secrets rules shows in a diff as that
provider's secrets.py. Regenerate with
`INFRAR_UPDATE_GOLDEN=1 pytest tests/engine/test_native_secrets.py` and review the diff by eye.

Beyond the bytes: the files are lint- and format-clean, never import the SDK, define exactly the
SDK's public names with the SDK's signatures, pick physical names by INFRAR_ENVIRONMENT, and
install no logging or client at import time.
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

import infrar.secrets
from infrar.engine import native as generator
from infrar.engine.native import PACKAGE, NameTable, capability_source, package_files, rules_digest

GOLDEN = Path(__file__).parent / "golden_native_secrets"
PROVIDERS = ("local", "aws", "gcp", "azure")
UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
CAPABILITIES = ["secrets"]
NAMES: NameTable = {
    "production": {"secret": {"api-token": "acme-prod-api-token", "db-password": "acme-prod-db"}},
    "staging": {"secret": {"api-token": "acme-stg-api-token", "db-password": "acme-stg-db"}},
}
FILES = ("__init__.py", "resources.py", "secrets.py")
SDK_FILE = Path(infrar.secrets.__file__ or "")
OPERATIONS = [n for n in infrar.secrets.__all__ if inspect.isfunction(getattr(infrar.secrets, n))]
CLASSES = [n for n in infrar.secrets.__all__ if inspect.isclass(getattr(infrar.secrets, n))]
RUFF = Path(sys.executable).with_name("ruff")
# What each provider's module may import: its own client library and the standard library.
THIRD_PARTY = {
    "local": set(),
    "aws": {"boto3", "botocore"},
    "gcp": {"google"},
    "azure": {"azure"},
}


def generated(provider: str, names: NameTable = NAMES) -> dict[str, bytes]:
    return package_files(provider, CAPABILITIES, names)


def write_package(folder: Path, provider: str, names: NameTable = NAMES) -> Path:
    for relative, data in generated(provider, names).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder / PACKAGE


def top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def module_of(provider: str) -> ast.Module:
    return ast.parse(generated(provider)[f"{PACKAGE}/secrets.py"])


SDK_TREE = top_level(ast.parse(SDK_FILE.read_bytes()))


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


@pytest.mark.parametrize("provider", PROVIDERS)
def test_imports_are_the_standard_library_and_the_providers_client(provider: str) -> None:
    tree = module_of(provider)
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    tops = {m.split(".")[0] for m in modules}
    assert "infrar" not in tops
    assert f"{PACKAGE}.resources" in modules
    foreign = {t for t in tops if t not in sys.stdlib_module_names and t != PACKAGE}
    assert foreign == THIRD_PARTY[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_public_names_are_the_sdks(provider: str) -> None:
    tree = module_of(provider)
    [exported] = [n.value for n in tree.body if isinstance(n, ast.Assign)
                  and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["__all__"]]
    assert sorted(ast.literal_eval(exported)) == sorted(infrar.secrets.__all__)
    assert set(infrar.secrets.__all__) <= set(top_level(tree))


def _signature(node: ast.stmt) -> str:
    assert isinstance(node, ast.FunctionDef)
    returns = ast.dump(node.returns) if node.returns else "(none)"
    return f"{ast.dump(node.args)} -> {returns}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_operations_have_the_sdks_signatures_and_docstrings(provider: str) -> None:
    defined = top_level(module_of(provider))
    for operation in OPERATIONS:
        node, sdk = defined[operation], SDK_TREE[operation]
        assert _signature(node) == _signature(sdk), operation
        assert ast.get_docstring(node) == ast.get_docstring(sdk), operation


@pytest.mark.parametrize("provider", PROVIDERS)
def test_classes_are_defined_as_in_the_sdk(provider: str) -> None:
    defined = top_level(module_of(provider))
    for name in CLASSES:
        node = defined[name]
        assert isinstance(node, ast.ClassDef)
        sdk_bases = [b.__name__ for b in getattr(infrar.secrets, name).__bases__
                     if b is not object]
        assert [ast.unparse(b) for b in node.bases] == sdk_bases, name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_runtime_runs_the_same_operations(provider: str) -> None:
    package = top_level(ast.parse(capability_source(provider, "secrets")))
    runtime = top_level(ast.parse(capability_source(provider, "secrets", for_runtime=True)))
    assert not set(CLASSES) & set(runtime)
    assert {n for n in package if n not in CLASSES} == set(runtime)
    for name, node in runtime.items():
        assert ast.dump(node) == ast.dump(package[name]), name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_headers_name_the_version_and_the_rules(provider: str) -> None:
    docstring = ast.get_docstring(module_of(provider)) or ""
    assert f"infrar {generator.__version__}" in docstring and "Do not edit" in docstring
    digest = rules_digest(provider, "secrets")
    assert f"(rules {digest})" in docstring
    assert f"{provider}/services/secrets/" in docstring
    assert len({rules_digest(p, "secrets") for p in PROVIDERS}) == len(PROVIDERS)


# --- the local package, imported -------------------------------------------------------------

def _forget_native_package() -> None:
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.fixture
def native(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    write_package(tmp_path / "program", "local")
    monkeypatch.syspath_prepend(str(tmp_path / "program"))
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("INFRAR_ENVIRONMENT", raising=False)
    _forget_native_package()
    module = importlib.import_module(f"{PACKAGE}.secrets")
    yield module
    _forget_native_package()


def test_imported_signatures_are_the_sdks(native: ModuleType) -> None:
    for operation in OPERATIONS:
        assert inspect.signature(getattr(native, operation)) == \
            inspect.signature(getattr(infrar.secrets, operation)), operation
    assert issubclass(native.SecretNotFoundError, native.SecretsError)
    assert not issubclass(native.SecretNotFoundError, infrar.secrets.SecretsError)
    assert native.SecretNotFoundError.__module__ == f"{PACKAGE}.secrets"


def test_operations_use_the_physical_names(native: ModuleType, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    secrets_root = tmp_path / "root" / ".infrar-secrets"
    for environment, physical in (("staging", "acme-stg-api-token"),
                                  ("production", "acme-prod-api-token")):
        (secrets_root / physical).mkdir(parents=True)
        monkeypatch.setenv("INFRAR_ENVIRONMENT", environment)
        native.set_secret("api-token", f"token for {environment}")
        assert native.get_secret("api-token") == f"token for {environment}"
        assert (secrets_root / physical / "1").read_text() == f"token for {environment}"
    monkeypatch.setenv("INFRAR_ENVIRONMENT", "staging")
    assert native.get_secret("api-token", version="1") == "token for staging"
    with pytest.raises(native.SecretNotFoundError, match="acme-stg-db"):
        native.get_secret("db-password")
    # A name the table does not know (computed at run time) is used as it is.
    (secrets_root / "computed").mkdir()
    native.set_secret("computed", "v")
    assert (secrets_root / "computed" / "1").read_text() == "v"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_importing_touches_no_client_and_no_logger(provider: str, tmp_path: Path) -> None:
    """Clients (and the log filters that come with them) are made on first use only."""
    write_package(tmp_path, provider)
    script = ("import logging, sys\n"
              "before = {n: list(l.filters) for n, l in logging.root.manager.loggerDict.items()\n"
              "          if isinstance(l, logging.Logger)}\n"
              "import infrar_native.secrets\n"
              "after = {n: list(l.filters) for n, l in logging.root.manager.loggerDict.items()\n"
              "         if isinstance(l, logging.Logger)}\n"
              "print(sorted(n for n in after if after[n] != before.get(n, [])))\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "CLOUDSDK_", "INFRAR_"))}
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False, timeout=60)
    assert (run.returncode, run.stdout) == (0, "[]\n"), run.stderr
