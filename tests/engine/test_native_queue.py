"""The generated native package for the queue capability, for every provider.

golden_native_queue/<provider>/infrar_native/ holds the package generated from NAMES (two
environments) byte for byte, so a change to a provider's queue rules shows in a diff as that
provider's queue.py. Regenerate with
`INFRAR_UPDATE_GOLDEN=1 pytest tests/engine/test_native_queue.py` and review the diff by eye.

Beyond the bytes: the files are lint- and format-clean, never import the SDK, define exactly the
SDK's public names with the SDK's signatures, and pick physical queue names by
INFRAR_ENVIRONMENT.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import infrar.queue
from infrar.engine import native as generator
from infrar.engine.native import PACKAGE, NameTable, capability_source, package_files, rules_digest

GOLDEN = Path(__file__).parent / "golden_native_queue"
PROVIDERS = ("local", "aws", "gcp", "azure")
UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
CAPABILITIES = ["queue"]
NAMES: NameTable = {
    "production": {"queue": {"orders": "acme-orders-prod", "emails": "acme-emails-prod"}},
    "staging": {"queue": {"orders": "acme-orders-stg", "emails": "acme-emails-stg"}},
}
FILES = ("__init__.py", "resources.py", "queue.py")
SDK_FILE = Path(infrar.queue.__file__ or "")
OPERATIONS = [n for n in infrar.queue.__all__ if inspect.isfunction(getattr(infrar.queue, n))]
CLASSES = [n for n in infrar.queue.__all__ if inspect.isclass(getattr(infrar.queue, n))]
RUFF = Path(sys.executable).with_name("ruff")
REQUIREMENT = {"local": None, "aws": "boto3", "gcp": "google.pubsub_v1",
               "azure": "azure.storage.queue"}


def generated(provider: str, names: NameTable = NAMES) -> dict[str, bytes]:
    return package_files(provider, CAPABILITIES, names)


def write_package(folder: Path, provider: str) -> Path:
    for relative, data in generated(provider).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder / PACKAGE


def top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def queue_module(provider: str) -> ast.Module:
    return ast.parse(generated(provider)[f"{PACKAGE}/queue.py"])


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
def test_no_file_imports_the_sdk_and_the_cloud_library_is_the_providers(provider: str) -> None:
    for relative, data in generated(provider).items():
        tree = ast.parse(data)
        modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.split(".")[0] == "infrar"], relative
        if relative.endswith("queue.py"):
            assert f"{PACKAGE}.resources" in modules
            third_party = {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names
                           and m.split(".")[0] not in (PACKAGE, "__future__")}
            wanted = REQUIREMENT[provider]
            assert (wanted in third_party) if wanted else not third_party, third_party


@pytest.mark.parametrize("provider", PROVIDERS)
def test_public_names_are_the_sdks(provider: str) -> None:
    tree = queue_module(provider)
    [exported] = [n.value for n in tree.body if isinstance(n, ast.Assign)
                  and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["__all__"]]
    names = ast.literal_eval(exported)
    assert sorted(names) == sorted(infrar.queue.__all__)
    assert set(names) <= set(top_level(tree))


def _signature(node: ast.stmt) -> str:
    assert isinstance(node, ast.FunctionDef)
    returns = ast.dump(node.returns) if node.returns else "(none)"
    return f"{ast.dump(node.args)} -> {returns}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_operations_have_the_sdks_signatures_and_docstrings(provider: str) -> None:
    defined = top_level(queue_module(provider))
    for operation in OPERATIONS:
        node, sdk = defined[operation], SDK_TREE[operation]
        assert _signature(node) == _signature(sdk), operation
        assert isinstance(node, ast.FunctionDef) and isinstance(sdk, ast.FunctionDef)
        assert ast.get_docstring(node) == ast.get_docstring(sdk), operation
        # The queue name is the one resource: resolved once, before anything else happens.
        first = ast.unparse(node.body[1])
        assert first == "queue = physical_name('queue', queue)", (operation, first)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_classes_are_defined_as_in_the_sdk(provider: str) -> None:
    defined = top_level(queue_module(provider))
    for name in CLASSES:
        node = defined[name]
        assert isinstance(node, ast.ClassDef)
        sdk_bases = [b.__name__ for b in getattr(infrar.queue, name).__bases__ if b is not object]
        assert [ast.unparse(b) for b in node.bases] == sdk_bases, name
        assert ast.get_docstring(node) == getattr(infrar.queue, name).__doc__, name
    message = defined["Message"]
    assert isinstance(message, ast.ClassDef)
    fields = [(s.target.id, ast.unparse(s.annotation)) for s in message.body
              if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
    assert fields == [(f.name, str(f.type)) for f in dataclasses.fields(infrar.queue.Message)]
    [decorator] = message.decorator_list
    assert ast.unparse(decorator) == "dataclasses.dataclass(frozen=True)"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_runtime_runs_the_same_operations(provider: str) -> None:
    """The SDK executes the very module source (without the classes it brings itself)."""
    package = top_level(ast.parse(capability_source(provider, "queue")))
    runtime = top_level(ast.parse(capability_source(provider, "queue", for_runtime=True)))
    assert not set(CLASSES) & set(runtime)
    assert {n for n in package if n not in CLASSES} == set(runtime)
    for name, node in runtime.items():
        assert ast.dump(node) == ast.dump(package[name]), name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_headers_name_the_version_and_the_rules(provider: str) -> None:
    docstring = ast.get_docstring(queue_module(provider)) or ""
    assert f"infrar {generator.__version__}" in docstring and "Do not edit" in docstring
    digest = rules_digest(provider, "queue")
    assert f"(rules {digest})" in docstring
    assert f"{provider}/services/queue/" in docstring
    assert len({rules_digest(p, "queue") for p in PROVIDERS}) == len(PROVIDERS)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_operation_checks_its_arguments_before_any_call(provider: str) -> None:
    """The provider's helper for each operation starts with the portable check."""
    tree = queue_module(provider)
    defined = top_level(tree)
    checks = {"send": "_check_send", "receive": "_check_receive", "ack": "_check_ack"}
    for operation, check in checks.items():
        wrapper = defined[operation]
        assert isinstance(wrapper, ast.FunctionDef)
        call = wrapper.body[-1].value  # type: ignore[attr-defined]
        helper = defined[call.func.id]
        assert isinstance(helper, ast.FunctionDef)
        first = helper.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            first = helper.body[1]
        called = [n.func.id for n in ast.walk(first)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        assert called == [check], (operation, ast.unparse(first))


# --- the local package, imported -------------------------------------------------------------

def _forget_native_package() -> None:
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.fixture
def native(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The generated local queue module, imported from a temporary folder."""
    write_package(tmp_path / "program", "local")
    monkeypatch.syspath_prepend(str(tmp_path / "program"))
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("INFRAR_ENVIRONMENT", raising=False)
    _forget_native_package()
    module = importlib.import_module(f"{PACKAGE}.queue")
    assert module.__file__ == str(tmp_path / "program" / PACKAGE / "queue.py")
    yield module
    _forget_native_package()


def test_imported_signatures_and_classes_are_the_sdks(native: ModuleType) -> None:
    for operation in OPERATIONS:
        assert inspect.signature(getattr(native, operation)) == \
            inspect.signature(getattr(infrar.queue, operation)), operation
        assert getattr(native, operation).__doc__ == getattr(infrar.queue, operation).__doc__
    for name in CLASSES:
        cls, sdk = getattr(native, name), getattr(infrar.queue, name)
        assert (cls.__name__, cls.__module__) == (name, f"{PACKAGE}.queue")
        assert cls is not sdk
        assert [b.__name__ for b in cls.__mro__] == [b.__name__ for b in sdk.__mro__]
    assert issubclass(native.QueueNotFoundError, native.QueueError)
    assert not issubclass(native.QueueNotFoundError, infrar.queue.QueueError)


def test_operations_use_the_physical_names(native: ModuleType, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folders = tmp_path / "root" / ".infrar-queues"
    for physical in ("acme-orders-stg", "acme-orders-prod"):
        (folders / physical).mkdir(parents=True)
    monkeypatch.setenv("INFRAR_ENVIRONMENT", "staging")
    native.send("orders", "for staging")
    monkeypatch.setenv("INFRAR_ENVIRONMENT", "production")
    native.send("orders", "for production")
    [message] = native.receive("orders", max_messages=10)
    assert message.body == "for production" and isinstance(message, native.Message)
    native.ack("orders", message)
    assert not list((folders / "acme-orders-prod" / "in-flight").iterdir())
    assert len(list((folders / "acme-orders-stg" / "ready").iterdir())) == 1
    # The emails queue of production was never made: the error names the physical queue.
    with pytest.raises(native.QueueNotFoundError, match="'acme-emails-prod' does not exist"):
        native.send("emails", "x")
    # An SDK Message is not this module's: refused, as any other object.
    with pytest.raises(TypeError, match="must be a Message"):
        native.ack("orders", infrar.queue.Message(id=message.id, body="x",
                                                  receipt=message.receipt))


def test_a_forged_receipt_cannot_reach_outside_the_queue(native: ModuleType, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFRAR_ENVIRONMENT", "staging")
    folders = tmp_path / "root" / ".infrar-queues"
    (folders / "scratch").mkdir(parents=True)
    (tmp_path / "root" / "precious").write_text("keep")
    for receipt in ("../../../precious", "../ready/x", "1.2.3", ""):
        with pytest.raises((native.QueueError, ValueError)):
            native.ack("scratch", native.Message(id="x", body="x", receipt=receipt))
    assert (tmp_path / "root" / "precious").read_text() == "keep"
    for name in ("../precious", ".hidden", "a/b"):
        with pytest.raises(native.QueueNotFoundError):
            native.send(name, "x")
