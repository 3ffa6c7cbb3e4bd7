"""The generated native package, `infrar_native`, for every capability and every provider.

Each capability's golden folder (golden_native/ for storage, golden_native_<capability>/ for the
others) holds, under <provider>/infrar_native/, the package generated for that capability alone
from its NAMES (two environments) byte for byte, so a change to a provider's rules shows in a diff
as that provider's <capability>.py. Regenerate with
`INFRAR_UPDATE_GOLDEN=1 pytest tests/engine/test_native.py` and review the diff by eye.

Beyond the bytes, for every capability: the files are lint- and format-clean, never import the
SDK, define exactly the SDK's public names with the SDK's signatures and docstrings, and the local
module, imported, keeps the contract with the physical names of the environment it runs in. What
only one capability has (its cloud clients, its resource resolution, its local behaviour) is
checked by the tests named after it, further down.
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

import infrar.kv
import infrar.queue
import infrar.secrets
import infrar.storage
from infrar.engine import native as generator
from infrar.engine.native import (
    PACKAGE,
    NameTable,
    capability_source,
    package_files,
    rules_digest,
)

HERE = Path(__file__).parent
PROVIDERS = ("local", "aws", "gcp", "azure")
UPDATE = os.environ.get("INFRAR_UPDATE_GOLDEN") == "1"
RUFF = Path(sys.executable).with_name("ruff")


def top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


@dataclasses.dataclass(frozen=True)
class Capability:
    """One SDK capability, its golden folder and the name table its package is generated from."""

    name: str
    sdk: ModuleType
    golden: Path
    names: NameTable
    # The SDK's dataclasses and its not-found error with the error it derives from.
    dataclasses: tuple[str, ...]
    not_found: tuple[str, str]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(sorted(("__init__.py", "resources.py", f"{self.name}.py")))

    @property
    def operations(self) -> list[str]:
        return [n for n in self.sdk.__all__ if inspect.isfunction(getattr(self.sdk, n))]

    @property
    def classes(self) -> list[str]:
        return [n for n in self.sdk.__all__ if inspect.isclass(getattr(self.sdk, n))]

    @property
    def sdk_tree(self) -> dict[str, ast.stmt]:
        return top_level(ast.parse(Path(self.sdk.__file__ or "").read_bytes()))

    def generated(self, provider: str, names: NameTable | None = None) -> dict[str, bytes]:
        return package_files(provider, [self.name], self.names if names is None else names)

    def module(self, provider: str) -> ast.Module:
        """The capability's module of the package, parsed."""
        return ast.parse(self.generated(provider)[f"{PACKAGE}/{self.name}.py"])


STORAGE = Capability(
    "storage", infrar.storage, HERE / "golden_native",
    {"production": {"bucket": {"photos": "acme-photos-prod", "backups": "acme-backups-prod"}},
     "staging": {"bucket": {"photos": "acme-photos-stg", "backups": "acme-backups-stg"}}},
    dataclasses=("ObjectInfo",), not_found=("ObjectNotFoundError", "StorageError"))
QUEUE = Capability(
    "queue", infrar.queue, HERE / "golden_native_queue",
    {"production": {"queue": {"orders": "acme-orders-prod", "emails": "acme-emails-prod"}},
     "staging": {"queue": {"orders": "acme-orders-stg", "emails": "acme-emails-stg"}}},
    dataclasses=("Message",), not_found=("QueueNotFoundError", "QueueError"))
KV = Capability(
    "kv", infrar.kv, HERE / "golden_native_kv",
    {"production": {"table": {"sessions": "shop-prod-sessions", "carts": "shop-prod-carts"}},
     "staging": {"table": {"sessions": "shop-stg-sessions", "carts": "shop-stg-carts"}}},
    dataclasses=(), not_found=("KeyNotFoundError", "KVError"))
SECRETS = Capability(
    "secrets", infrar.secrets, HERE / "golden_native_secrets",
    {"production": {"secret": {"api-token": "acme-prod-api-token", "db-password": "acme-prod-db"}},
     "staging": {"secret": {"api-token": "acme-stg-api-token", "db-password": "acme-stg-db"}}},
    dataclasses=(), not_found=("SecretNotFoundError", "SecretsError"))
CAPABILITIES = {c.name: c for c in (STORAGE, QUEUE, KV, SECRETS)}

# Every test below that takes `capability` (and `provider`) runs for each of them.
EACH_CAPABILITY = pytest.mark.parametrize("capability", list(CAPABILITIES.values()),
                                          ids=list(CAPABILITIES))
EACH_PROVIDER = pytest.mark.parametrize("provider", PROVIDERS)


def write_package(folder: Path, capability: Capability, provider: str,
                  names: NameTable | None = None) -> Path:
    for relative, data in capability.generated(provider, names).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder / PACKAGE


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


@EACH_CAPABILITY
def test_the_package_has_the_files_it_needs(capability: Capability) -> None:
    for provider in PROVIDERS:
        assert sorted(capability.generated(provider)) == \
            [f"{PACKAGE}/{name}" for name in capability.files]


# --- golden files ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("capability", "provider", "name"), [
    pytest.param(c, p, n, id=f"{c.name}-{p}-{n}")
    for c in CAPABILITIES.values() for p in PROVIDERS for n in c.files])
def test_golden_package(capability: Capability, provider: str, name: str) -> None:
    output = capability.generated(provider)[f"{PACKAGE}/{name}"]
    expected_file = capability.golden / provider / PACKAGE / name
    if UPDATE:
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        if not expected_file.exists() or expected_file.read_bytes() != output:
            expected_file.write_bytes(output)
    assert expected_file.exists(), (
        f"{expected_file.relative_to(HERE)} is missing; generate it with INFRAR_UPDATE_GOLDEN=1 "
        "and review it")
    assert output == expected_file.read_bytes(), (
        f"{provider}'s {name} ({capability.name}) differs from its golden file; if the change is "
        "intended, regenerate with INFRAR_UPDATE_GOLDEN=1 and review the diff")
    assert capability.generated(provider)[f"{PACKAGE}/{name}"] == output, \
        "a second run gave different bytes"


@EACH_CAPABILITY
def test_no_stale_golden_files(capability: Capability) -> None:
    wanted = {Path(p) / PACKAGE / n for p in PROVIDERS for n in capability.files}
    found = {p.relative_to(capability.golden) for p in capability.golden.rglob("*")
             if p.is_file()}
    assert found == wanted


def test_the_golden_folders_are_distinct() -> None:
    """No capability's stale-file check can see another's files."""
    folders = [c.golden for c in CAPABILITIES.values()]
    assert len(set(folders)) == len(folders)
    assert not [a for a in folders for b in folders if a != b and a in b.parents]


@EACH_CAPABILITY
def test_the_package_is_identical_across_processes(capability: Capability) -> None:
    """Hash randomisation must not reach the package: other seeds, same bytes."""
    script = ("import hashlib, json, sys\n"
              "from infrar.engine import native\n"
              f"native.__version__ = {generator.__version__!r}\n"
              "from infrar.engine.native import package_files\n"
              "names = json.loads(sys.argv[1])\n"
              "print(json.dumps({p: {k: hashlib.sha256(v).hexdigest() for k, v in "
              f"package_files(p, [{capability.name!r}], names).items()}} "
              "for p in json.loads(sys.argv[2])}))\n")
    here = {p: {k: hashlib.sha256(v).hexdigest() for k, v in capability.generated(p).items()}
            for p in PROVIDERS}
    for seed in ("3", "4242"):
        run = subprocess.run([sys.executable, "-c", script, json.dumps(capability.names),
                              json.dumps(PROVIDERS)], env={**os.environ, "PYTHONHASHSEED": seed},
                             capture_output=True, text=True, check=True)
        assert json.loads(run.stdout) == here


# --- what any reader or tool of the user's sees ------------------------------------------------

def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    if not RUFF.exists():
        pytest.skip("ruff is not installed next to this interpreter (it is in the `test` extra)")
    return subprocess.run([str(RUFF), *args], capture_output=True, text=True, timeout=120,
                          check=False)


@EACH_PROVIDER
@EACH_CAPABILITY
def test_ruff_finds_nothing(capability: Capability, provider: str, tmp_path: Path) -> None:
    package = write_package(tmp_path, capability, provider)
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


@EACH_PROVIDER
@EACH_CAPABILITY
def test_no_file_imports_the_sdk(capability: Capability, provider: str) -> None:
    for relative, data in capability.generated(provider).items():
        modules = imported_modules(ast.parse(data))
        assert not [m for m in modules if m.split(".")[0] == "infrar"], relative
    assert f"{PACKAGE}.resources" in imported_modules(capability.module(provider))


def test_the_import_check_would_notice() -> None:
    tree = ast.parse("import infrar.storage as s\nfrom infrar import storage\n"
                     "importlib.import_module('infrar.storage')\n")
    assert imported_modules(tree) == ["infrar.storage", "infrar", "infrar.storage"]


@EACH_PROVIDER
@EACH_CAPABILITY
def test_public_names_are_the_sdks(capability: Capability, provider: str) -> None:
    tree = capability.module(provider)
    [exported] = [n.value for n in tree.body if isinstance(n, ast.Assign)
                  and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["__all__"]]
    names = ast.literal_eval(exported)
    assert sorted(names) == sorted(capability.sdk.__all__)
    assert set(names) <= set(top_level(tree))
    package_all = [n.value for n in ast.parse(
        capability.generated(provider)[f"{PACKAGE}/__init__.py"]).body
        if isinstance(n, ast.Assign)]
    assert [ast.literal_eval(v) for v in package_all] == [[capability.name]]


def operations_of(capability: Capability, provider: str) -> dict[str, ast.FunctionDef]:
    """The generated module's definitions of the SDK's operations, by name."""
    defined = top_level(capability.module(provider))
    nodes = {}
    for name in capability.operations:
        node = defined[name]
        assert isinstance(node, ast.FunctionDef), name
        nodes[name] = node
    return nodes


def _signature(node: ast.stmt) -> str:
    assert isinstance(node, ast.FunctionDef)
    returns = ast.dump(node.returns) if node.returns else "(none)"
    return f"{ast.dump(node.args)} -> {returns}"


@EACH_PROVIDER
@EACH_CAPABILITY
def test_operations_have_the_sdks_signatures_and_docstrings(capability: Capability,
                                                            provider: str) -> None:
    defined, sdk_tree = top_level(capability.module(provider)), capability.sdk_tree
    for operation in capability.operations:
        node, sdk = defined[operation], sdk_tree[operation]
        assert _signature(node) == _signature(sdk), operation
        assert isinstance(node, ast.FunctionDef) and isinstance(sdk, ast.FunctionDef)
        assert ast.get_docstring(node) == ast.get_docstring(sdk), operation
        assert not node.decorator_list, operation


@EACH_PROVIDER
@EACH_CAPABILITY
def test_classes_are_defined_as_in_the_sdk(capability: Capability, provider: str) -> None:
    """Same names, same hierarchy by name, same docstrings, same dataclass fields."""
    defined = top_level(capability.module(provider))
    for name in capability.classes:
        node, sdk = defined[name], getattr(capability.sdk, name)
        assert isinstance(node, ast.ClassDef)
        sdk_bases = [b.__name__ for b in sdk.__bases__ if b is not object]
        assert [ast.unparse(b) for b in node.bases] == sdk_bases, name
        assert ast.get_docstring(node) == sdk.__doc__, name
    sdk_dataclasses = tuple(n for n in capability.classes
                            if dataclasses.is_dataclass(getattr(capability.sdk, n)))
    assert sdk_dataclasses == capability.dataclasses
    for name in capability.dataclasses:
        node = defined[name]
        assert isinstance(node, ast.ClassDef)
        fields = [(s.target.id, ast.unparse(s.annotation)) for s in node.body
                  if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
        assert fields == [(f.name, str(f.type))
                          for f in dataclasses.fields(getattr(capability.sdk, name))], name


@EACH_PROVIDER
@EACH_CAPABILITY
def test_runtime_runs_the_same_operations(capability: Capability, provider: str) -> None:
    """The SDK executes the very module source (without the classes it brings itself)."""
    package = top_level(ast.parse(capability_source(provider, capability.name)))
    runtime = top_level(ast.parse(capability_source(provider, capability.name, for_runtime=True)))
    assert not set(capability.classes) & set(runtime)
    assert {n for n in package if n not in capability.classes} == set(runtime)
    for name, node in runtime.items():
        assert ast.dump(node) == ast.dump(package[name]), name


@EACH_PROVIDER
@EACH_CAPABILITY
def test_headers_name_the_version_and_the_rules(capability: Capability, provider: str) -> None:
    files = {k.rsplit("/", 1)[1]: ast.get_docstring(ast.parse(v)) or ""
             for k, v in capability.generated(provider).items()}
    for name, docstring in files.items():
        assert f"infrar {generator.__version__}" in docstring, name
        assert provider in docstring.splitlines()[0] or f"the {provider} provider" in docstring
        assert "Do not edit" in docstring, name
    module = files[f"{capability.name}.py"]
    digest = rules_digest(provider, capability.name)
    assert len(digest) == 12 and f"(rules {digest})" in module
    assert f"{provider}/services/{capability.name}/" in module
    assert len({rules_digest(p, capability.name) for p in PROVIDERS}) == len(PROVIDERS)


# --- the local package, imported -------------------------------------------------------------

def _forget_native_package() -> None:
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def import_local(capability: Capability, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The generated local module of `capability`, imported from a temporary folder."""
    write_package(tmp_path / "program", capability, "local")
    monkeypatch.syspath_prepend(str(tmp_path / "program"))
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("INFRAR_ENVIRONMENT", raising=False)
    _forget_native_package()
    module = importlib.import_module(f"{PACKAGE}.{capability.name}")
    assert module.__file__ == str(tmp_path / "program" / PACKAGE / f"{capability.name}.py")
    yield module
    _forget_native_package()


@pytest.fixture(params=list(CAPABILITIES.values()), ids=list(CAPABILITIES))
def native_any(request: pytest.FixtureRequest, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Capability, ModuleType]]:
    """Each capability's generated local module in turn, with its capability."""
    capability: Capability = request.param
    for module in import_local(capability, tmp_path, monkeypatch):
        yield capability, module


def _native_fixture(capability: Capability) -> object:
    def native(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
        yield from import_local(capability, tmp_path, monkeypatch)
    native.__doc__ = f"The generated local {capability.name} module, imported."
    return pytest.fixture(native, name=f"native_{capability.name}")


native_storage = _native_fixture(STORAGE)
native_queue = _native_fixture(QUEUE)
native_kv = _native_fixture(KV)
native_secrets = _native_fixture(SECRETS)


def test_imported_signatures_are_the_sdks(native_any: tuple[Capability, ModuleType]) -> None:
    capability, native = native_any
    for operation in capability.operations:
        mine, sdk = getattr(native, operation), getattr(capability.sdk, operation)
        assert inspect.signature(mine) == inspect.signature(sdk), operation
        assert mine.__doc__ == sdk.__doc__, operation


def test_imported_classes_have_their_own_names(native_any: tuple[Capability, ModuleType]) -> None:
    capability, native = native_any
    for name in capability.classes:
        cls, sdk = getattr(native, name), getattr(capability.sdk, name)
        assert (cls.__name__, cls.__qualname__) == (name, name)
        assert cls.__module__ == f"{PACKAGE}.{capability.name}"
        assert cls is not sdk
        assert [b.__name__ for b in cls.__mro__] == [b.__name__ for b in sdk.__mro__]
    error, base = capability.not_found
    assert issubclass(getattr(native, error), getattr(native, base))
    assert not issubclass(getattr(native, error), getattr(capability.sdk, base))
    assert getattr(native, error).__module__ == f"{PACKAGE}.{capability.name}"
    for name in capability.dataclasses:
        assert [f.name for f in dataclasses.fields(getattr(native, name))] == \
            [f.name for f in dataclasses.fields(getattr(capability.sdk, name))]


def test_the_package_reaches_its_capabilities_as_attributes(
        native_any: tuple[Capability, ModuleType]) -> None:
    capability, native = native_any
    package = importlib.import_module(PACKAGE)
    assert getattr(package, capability.name) is native
    with pytest.raises(AttributeError, match="has no attribute 'queues'"):
        _ = package.queues


# --- storage only -------------------------------------------------------------------------------

def test_storage_operations_use_the_physical_names(native_storage: ModuleType, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    native = native_storage
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


# --- choosing the environment (resources.py, with the storage package's names) -----------------

def load_resources(folder: Path, names: NameTable) -> ModuleType:
    """resources.py of a package generated for `names`, loaded on its own (it needs only os)."""
    write_package(folder, STORAGE, "local", names)
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
    resources = load_resources(tmp_path, STORAGE.names)
    for name, physical in (("staging", "acme-photos-stg"), ("production", "acme-photos-prod")):
        environment.setenv("INFRAR_ENVIRONMENT", name)
        assert resources.current_environment() == name
        assert resources.physical_name("bucket", "photos") == physical
    assert resources.physical_name("bucket", "computed-at-run-time") == "computed-at-run-time"
    assert resources.physical_name("queue", "photos") == "photos"


def test_an_unknown_environment_names_the_known_ones(tmp_path: Path,
                                                     environment: pytest.MonkeyPatch) -> None:
    resources = load_resources(tmp_path, STORAGE.names)
    environment.setenv("INFRAR_ENVIRONMENT", "qa")
    with pytest.raises(resources.UnknownEnvironmentError) as raised:
        resources.physical_name("bucket", "photos")
    assert str(raised.value) == ("INFRAR_ENVIRONMENT='qa'; this build serves production, staging: "
                                 "set one of them")
    assert isinstance(raised.value, LookupError)


def test_unset_with_several_environments_is_an_error(tmp_path: Path,
                                                     environment: pytest.MonkeyPatch) -> None:
    resources = load_resources(tmp_path, STORAGE.names)
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
    resources = load_resources(tmp_path, {"production": STORAGE.names["production"]})
    assert resources.current_environment() == "production"
    assert resources.physical_name("bucket", "photos") == "acme-photos-prod"
    environment.setenv("INFRAR_ENVIRONMENT", "staging")
    with pytest.raises(resources.UnknownEnvironmentError, match="serves production: "):
        resources.physical_name("bucket", "photos")


def test_unset_with_a_default_environment_uses_it(tmp_path: Path,
                                                  environment: pytest.MonkeyPatch) -> None:
    names = {**STORAGE.names, "default": {"bucket": {"photos": "acme-photos"}}}
    resources = load_resources(tmp_path, names)
    assert resources.physical_name("bucket", "photos") == "acme-photos"
    environment.setenv("INFRAR_ENVIRONMENT", "staging")
    assert resources.physical_name("bucket", "photos") == "acme-photos-stg"


def test_the_environment_is_read_when_a_name_is_needed(tmp_path: Path) -> None:
    """In a process of its own: the variable set after the import still counts."""
    write_package(tmp_path, STORAGE, "local")
    script = ("import os\n"
              "from infrar_native.resources import physical_name\n"
              "os.environ['INFRAR_ENVIRONMENT'] = 'staging'\n"
              "print(physical_name('bucket', 'backups'))\n")
    env = {k: v for k, v in os.environ.items() if k != "INFRAR_ENVIRONMENT"}
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert run.stdout == "acme-backups-stg\n"


# --- queue only ---------------------------------------------------------------------------------

QUEUE_REQUIREMENT = {"local": None, "aws": "boto3", "gcp": "google.pubsub_v1",
                     "azure": "azure.storage.queue"}


@EACH_PROVIDER
def test_queue_cloud_library_is_the_providers(provider: str) -> None:
    modules = imported_modules(QUEUE.module(provider))
    third_party = {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names
                   and m.split(".")[0] not in (PACKAGE, "__future__")}
    wanted = QUEUE_REQUIREMENT[provider]
    assert (wanted in third_party) if wanted else not third_party, third_party


@EACH_PROVIDER
def test_queue_operations_resolve_the_queue_first(provider: str) -> None:
    """The queue name is the one resource: resolved once, before anything else happens."""
    for operation, node in operations_of(QUEUE, provider).items():
        first = ast.unparse(node.body[1])
        assert first == "queue = physical_name('queue', queue)", (operation, first)


@EACH_PROVIDER
def test_queue_message_is_a_frozen_dataclass(provider: str) -> None:
    message = top_level(QUEUE.module(provider))["Message"]
    assert isinstance(message, ast.ClassDef)
    [decorator] = message.decorator_list
    assert ast.unparse(decorator) == "dataclasses.dataclass(frozen=True)"


@EACH_PROVIDER
def test_queue_operations_check_their_arguments_before_any_call(provider: str) -> None:
    """The provider's helper for each operation starts with the portable check."""
    defined = top_level(QUEUE.module(provider))
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


def test_queue_operations_use_the_physical_names(native_queue: ModuleType, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    native = native_queue
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


def test_queue_a_forged_receipt_cannot_reach_outside_the_queue(
        native_queue: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    native = native_queue
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


# --- kv only ------------------------------------------------------------------------------------

KV_CLIENTS = {
    "local": set(),
    "aws": {"boto3", "botocore.exceptions"},
    "gcp": {"google.cloud", "google.api_core.exceptions"},
    # azure.identity only inside the client's function: only token authentication needs it.
    "azure": {"azure.data.tables", "azure.core.exceptions", "azure.identity"},
}


@EACH_PROVIDER
def test_kv_each_provider_imports_its_own_client_only(provider: str) -> None:
    imported = set(imported_modules(KV.module(provider))) - {f"{PACKAGE}.resources"}
    third_party = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert third_party == KV_CLIENTS[provider]


@EACH_PROVIDER
def test_kv_operations_resolve_the_table_only(provider: str) -> None:
    """The table is the only resource: it, and nothing else, goes through the name table."""
    for operation, node in operations_of(KV, provider).items():
        resolved = [ast.unparse(s) for s in node.body if isinstance(s, ast.Assign)]
        assert resolved == ["table = physical_name('table', table)"], operation


@EACH_PROVIDER
def test_kv_portable_checks_are_the_same_code_everywhere(provider: str) -> None:
    """Every provider refuses the same keys and values: the checks are one block of code."""
    here, local = top_level(KV.module(provider)), top_level(KV.module("local"))
    for name in ("_check_key", "_check_prefix", "_to_json", "_from_json"):
        assert ast.dump(here[name]) == ast.dump(local[name]), name


def test_kv_operations_use_the_physical_names(native_kv: ModuleType, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    native = native_kv
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


# --- secrets only -------------------------------------------------------------------------------

# What each provider's module may import: its own client library and the standard library.
SECRETS_THIRD_PARTY = {
    "local": set(),
    "aws": {"boto3", "botocore"},
    "gcp": {"google"},
    "azure": {"azure"},
}


@EACH_PROVIDER
def test_secrets_imports_are_the_standard_library_and_the_providers_client(provider: str) -> None:
    tops = {m.split(".")[0] for m in imported_modules(SECRETS.module(provider))}
    foreign = {t for t in tops if t not in sys.stdlib_module_names and t != PACKAGE}
    assert foreign == SECRETS_THIRD_PARTY[provider]


def test_secrets_operations_use_the_physical_names(native_secrets: ModuleType, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    native = native_secrets
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


@EACH_PROVIDER
def test_secrets_importing_touches_no_client_and_no_logger(provider: str, tmp_path: Path) -> None:
    """Clients (and the log filters that come with them) are made on first use only."""
    write_package(tmp_path, SECRETS, provider)
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
