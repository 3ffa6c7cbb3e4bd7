"""The kv contract holds identically everywhere.

Every program of `kv_programs/` runs through the SDK and, transformed by `infrar transform`, as
plain native code, on every provider: local folders, moto (DynamoDB), the Cloud SDK's Firestore
emulator and Azurite (Table Storage). Each run must print exactly the transcript of the SDK on
the local backend, which is itself pinned in `kv_transcripts/` (regenerate with
INFRAR_UPDATE_GOLDEN=1 and review). Transformed programs run from `OUT/<provider>/` with an
`infrar` package first on PYTHONPATH that refuses to import, so they prove they carry no Infrar
runtime.

Table names come from the environment (`CONFORMANCE_TABLE`, made for the test the way the
generated Terraform makes it, and `CONFORMANCE_MISSING_TABLE`, never made), fresh for each
test: the emulators are shared by parallel tests.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import runner

HERE = Path(__file__).resolve().parent
PROGRAMS_DIR = HERE / "kv_programs"
TRANSCRIPTS_DIR = HERE / "kv_transcripts"
PROGRAMS = sorted(p.stem for p in PROGRAMS_DIR.glob("*.py"))
PROVIDERS = ("local", "aws", "gcp", "azure")
NATIVE_PACKAGE = ("infrar_native/__init__.py", "infrar_native/kv.py", "infrar_native/resources.py")
REQUIREMENTS = {
    "local": "",
    "aws": "boto3>=1.28\n",
    "gcp": "google-cloud-firestore>=2.13\n",
    "azure": "azure-data-tables>=12.4\n",
}
REGISTRY = "infrar_tables"
"""The Firestore collection whose documents say which tables exist (see the gcp rules)."""
PAGE = 1000
"""Keys a page holds on Table Storage and Firestore; `listing` puts more than that."""
RUN_TIMEOUT = 180
# Beside the shared ones: what could point a run at another table service.
_clean_env = runner.environment_without(
    "AWS_ENDPOINT_URL_DYNAMODB", "FIRESTORE_EMULATOR_HOST", "FIRESTORE_DATABASE",
    "AZURE_TABLES_ACCOUNT_URL")


def _table_name() -> str:
    # A hyphen, so that Azure's name (without it) differs from the portable one.
    return runner.fresh_name("kv-", 16)


@dataclass
class Backend:
    """A provider ready for one test: what its runs need in the environment, a table made
    for the test, and a table name nothing made."""

    provider: str
    env: dict[str, str]
    pages: Callable[[str], int] | None = None
    """Table -> how many pages the native service lists it in, where it has pages."""
    table: str = field(default_factory=_table_name)
    missing: str = field(default_factory=_table_name)

    def run(self, script: Path, *, pythonpath: Path | None = None) -> runner.Run:
        env = _clean_env({
            **self.env,
            "INFRAR_PROVIDER": self.provider,
            "CONFORMANCE_TABLE": self.table,
            "CONFORMANCE_MISSING_TABLE": self.missing,
        })
        return runner.run_python([str(script)], env, script.parent, pythonpath=pythonpath,
                          timeout=RUN_TIMEOUT)


def _local(folder: Path) -> Backend:
    backend = Backend("local", {"INFRAR_LOCAL_ROOT": str(folder / "local-root")})
    (folder / "local-root" / ".infrar-kv" / backend.table).mkdir(parents=True)
    return backend


def _aws(request: pytest.FixtureRequest) -> Backend:
    import boto3

    emulator = request.getfixturevalue("moto_s3")  # moto serves DynamoDB at the same endpoint
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=emulator.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")

    def pages(table: str) -> int:
        count, start = 0, None
        while True:
            page = client.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
            count, start = count + 1, page.get("LastEvaluatedKey")
            if start is None:
                return count

    backend = Backend("aws", dict(emulator.env), pages)
    # What the generated Terraform makes: a string partition key named "key", billed on demand.
    client.create_table(TableName=backend.table, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}])
    return backend


def _firestore_rest(emulator: Any, method: str, path: str, body: object = None, *,
                    database: str = "(default)") -> Any:
    """One request to the Firestore emulator's REST face (it answers on its gRPC port)."""
    host, port = emulator.host.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        payload = None if body is None else json.dumps(body)
        where = f"/v1/projects/{emulator.project}/databases/{database}/documents{path}"
        conn.request(method, where, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        assert response.status == 200, data
        return json.loads(data)
    finally:
        conn.close()


def _gcp(request: pytest.FixtureRequest) -> Backend:
    emulator = request.getfixturevalue("firestore_emulator")

    def pages(table: str) -> int:
        count, token = 0, ""
        while True:
            query = f"?pageSize={PAGE}&mask.fieldPaths=__name__"
            query += f"&pageToken={token}" if token else ""
            token = _firestore_rest(emulator, "GET", f"/{table}{query}").get("nextPageToken", "")
            count += 1
            if not token:
                return count

    backend = Backend("gcp", dict(emulator.env), pages)
    # What the generated Terraform makes: the table's document in the registry.
    _firestore_rest(emulator, "POST", f"/{REGISTRY}?documentId={backend.table}",
                    {"fields": {"table": {"stringValue": backend.table}}})
    return backend


def _azure(request: pytest.FixtureRequest) -> Backend:
    from azure.data.tables import TableServiceClient

    emulator = request.getfixturevalue("azurite_table")
    service = TableServiceClient.from_connection_string(emulator.connection_string)

    def pages(table: str) -> int:
        entities = service.get_table_client(table.replace("-", "")).query_entities(
            "PartitionKey eq 'kv'", select=["RowKey"], results_per_page=PAGE)
        return sum(1 for _ in entities.by_page())

    backend = Backend("azure", dict(emulator.env), pages)
    # What the generated Terraform makes: the table, named without the hyphens.
    service.create_table(backend.table.replace("-", ""))
    return backend


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    provider: str = request.param
    if provider == "local":
        return _local(tmp_path)
    return {"aws": _aws, "gcp": _gcp, "azure": _azure}[provider](request)


def _transform(source: Path, provider: str, out: Path) -> Path:
    return runner.transform(source, provider, out, _clean_env({}), timeout=RUN_TIMEOUT)


@pytest.fixture(scope="session")
def transformed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Provider -> the folder `infrar transform --provider P --out` wrote the programs to."""
    return runner.transformed_programs(PROGRAMS_DIR, tmp_path_factory, "kv-transformed",
                                _clean_env({}), timeout=RUN_TIMEOUT)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Program -> what the SDK prints on the local backend: every run must print the same."""
    return runner.reference_transcripts(lambda name: _local(
        tmp_path_factory.mktemp(f"kv-reference-{name}")).run(PROGRAMS_DIR / f"{name}.py"))


def _assert_paged(program: str, backend: Backend) -> None:
    """After `listing`, the table holds more than one page of the native service: the scan
    that printed every key followed the service's continuation."""
    if program == "listing" and backend.pages is not None:
        assert backend.pages(backend.table) > 1, f"{backend.provider} listed the table in one page"


@pytest.mark.parametrize("program", PROGRAMS)
def test_reference_transcript_is_pinned(program: str, reference: dict[str, str]) -> None:
    lines = runner.assert_pinned(reference[program], TRANSCRIPTS_DIR / f"{program}.txt")
    assert len(lines) >= 20
    assert not [line for line in lines if "raises" in line and not line.endswith(": True")]
    assert not [line for line in lines if line.endswith(": False")]


def test_every_transcript_has_a_program() -> None:
    assert sorted(p.stem for p in TRANSCRIPTS_DIR.glob("*.txt")) == PROGRAMS


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
@pytest.mark.parametrize("program", PROGRAMS)
def test_sdk(program: str, backend: Backend, reference: dict[str, str]) -> None:
    result = backend.run(PROGRAMS_DIR / f"{program}.py")
    runner.assert_same(reference[program], result, f"SDK on {backend.provider}")
    _assert_paged(program, backend)


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
@pytest.mark.parametrize("program", PROGRAMS)
def test_transformed(program: str, backend: Backend, reference: dict[str, str],
                     transformed: dict[str, Path], blocker: Path) -> None:
    script = transformed[backend.provider] / f"{program}.py"
    runner.assert_transformed_prints(reference[program], script, backend.run, blocker,
                                     f"transformed for {backend.provider}")
    _assert_paged(program, backend)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_transformed_programs_tree(provider: str, transformed: dict[str, Path]) -> None:
    tree = transformed[provider]
    modules = {f"{name}.py" for name in PROGRAMS}
    written = {p.relative_to(tree).as_posix() for p in tree.rglob("*.py")}
    assert written == modules | set(NATIVE_PACKAGE)
    for module in sorted(modules):
        imported = runner.infrar_imports(tree / module)
        assert not imported, f"{module} still imports {sorted(imported)}"
        assert "from infrar_native.kv import" in (tree / module).read_text(encoding="utf-8")
    assert (tree / "requirements.infrar.txt").read_text() == REQUIREMENTS[provider]


def test_the_programs_differ_from_their_transformed_form_only_in_imports(
        transformed: dict[str, Path]) -> None:
    for name in PROGRAMS:
        source = (PROGRAMS_DIR / f"{name}.py").read_text(encoding="utf-8").splitlines()
        native = (transformed["aws"] / f"{name}.py").read_text(encoding="utf-8").splitlines()
        changed = [(a, b) for a, b in zip(source, native, strict=True) if a != b]
        assert [b for _, b in changed] == [
            a.replace("from infrar.kv import", "from infrar_native.kv import") for a, _ in changed]
        assert len(changed) == 1, changed


def test_blocker_blocks(blocker: Path, tmp_path: Path) -> None:
    script = tmp_path / "uses_sdk.py"
    script.write_text("import infrar.kv\nprint('imported')\n")
    backend = _local(tmp_path)
    blocked = backend.run(script, pythonpath=blocker)
    assert blocked.returncode != 0 and runner.BLOCKER_MESSAGE in blocked.stderr
    free = backend.run(script)
    assert (free.returncode, free.stdout) == (0, "imported\n"), free.stderr


def test_sdk_imports_no_third_party_module(tmp_path: Path) -> None:
    imports = "import infrar.kv\nfrom infrar.kv import KVError, get, put\n"
    for provider in PROVIDERS:
        runner.assert_loads_no_third_party(imports, _clean_env({"INFRAR_PROVIDER": provider}),
                                           tmp_path)


LAZY_MODULE = ("handler", "handle", (
        "from infrar.kv import KeyNotFoundError, get, put\n\n\n"
        "def handle(key):\n"
        "    try:\n"
        "        return get('sessions', key)\n"
        "    except KeyNotFoundError:\n"
        "        put('sessions', key, {})\n"
        "        return {}\n"))
"""A kv module whose clients are made on first use, and its function."""


@pytest.mark.parametrize("provider", PROVIDERS)
def test_transformed_module_imports_without_configuration(provider: str, tmp_path: Path,
                                                          blocker: Path) -> None:
    runner.assert_imports_unconfigured(LAZY_MODULE, provider, tmp_path, blocker, _clean_env)


FIRESTORE_CHECK = """\
import os
from infrar.kv import TableNotFoundError, get, put, scan

table = os.environ["CONFORMANCE_TABLE"]
try:
    print(scan(table), get(table, "k"))
    put(table, "k", {"n": 2})
    print(get(table, "k"))
except TableNotFoundError as error:
    print("TableNotFoundError", error)
"""


@pytest.mark.parametrize("form", ["sdk", "transformed"])
def test_firestore_tables_are_the_registered_collections_of_the_named_database(
        request: pytest.FixtureRequest, form: str, tmp_path: Path, blocker: Path) -> None:
    """A collection with documents is no table until the registry names it, and the database
    is the one FIRESTORE_DATABASE names (the generated Terraform's), `(default)` without it."""
    emulator = request.getfixturevalue("firestore_emulator")
    (tmp_path / "src").mkdir()
    script = tmp_path / "src" / "check.py"
    script.write_text(FIRESTORE_CHECK, encoding="utf-8")
    pythonpath = None
    if form == "transformed":
        script = _transform(tmp_path / "src", "gcp", tmp_path / "out") / "check.py"
        pythonpath = blocker
    backend = Backend("gcp", dict(emulator.env))
    database = f"infrar-shop-{uuid.uuid4().hex[:8]}"
    # Someone else's data in a collection of the table's name, in that database.
    _firestore_rest(emulator, "POST", f"/{backend.table}?documentId=k",
                    {"fields": {"value": {"stringValue": '{"n": 1}'}}}, database=database)
    backend.env["FIRESTORE_DATABASE"] = database
    unregistered = backend.run(script, pythonpath=pythonpath)
    assert unregistered.returncode == 0, unregistered.stderr
    assert unregistered.stdout == (f"TableNotFoundError table {backend.table!r} does not exist "
                                   f"(no {REGISTRY}/{backend.table} document)\n")

    _firestore_rest(emulator, "POST", f"/{REGISTRY}?documentId={backend.table}",
                    {"fields": {"table": {"stringValue": backend.table}}}, database=database)
    registered = backend.run(script, pythonpath=pythonpath)
    assert (registered.returncode, registered.stdout) == (0, "['k'] {'n': 1}\n{'n': 2}\n"), \
        registered.stderr

    del backend.env["FIRESTORE_DATABASE"]  # the (default) database has no such table
    default = backend.run(script, pythonpath=pythonpath)
    assert default.stdout.startswith("TableNotFoundError"), default.stderr
