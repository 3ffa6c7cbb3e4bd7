"""The storage contract holds identically everywhere.

Every program runs through the SDK and, transformed by `infrar transform`, as plain native
code, on every provider: local directories, moto (S3), gcp-storage-emulator (GCS) and Azurite
(Blob). Each run must print exactly the transcript of the SDK on the local backend, which is
itself pinned in `transcripts/` (regenerate with INFRAR_UPDATE_GOLDEN=1 and review).
Transformed programs run from `OUT/<provider>/` with an `infrar` package first on PYTHONPATH
that refuses to import, so they prove they carry no Infrar runtime.

Programs come in two shapes:

- `programs/<name>.py`: one script; all of them are transformed as one tree.
- `packages/<name>/`: a tree holding the package `<name>/` (entry point `<name>/main.py`) and
  the loose script `run_<name>.py`; it runs both as `python -m <name>.main` and as
  `python run_<name>.py` from the top of the tree, each printing the one transcript. Bucket
  names the package holds in constants are the placeholder literals of `CONSTANT_BUCKETS`:
  each test copies the tree with fresh names written in, and transforms that copy.

Dynamic bucket names come from the environment (`CONFORMANCE_BUCKET`, `CONFORMANCE_BUCKET_2`,
`CONFORMANCE_MISSING_BUCKET`, fresh for each test: the emulators are shared by parallel tests).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import runner

HERE = Path(__file__).resolve().parent
PROGRAMS_DIR = HERE / "programs"
TRANSCRIPTS_DIR = HERE / "transcripts"
PACKAGES_DIR = HERE / "packages"
PROGRAMS = sorted(p.stem for p in PROGRAMS_DIR.glob("*.py"))
PACKAGES = sorted(p.name for p in PACKAGES_DIR.iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")))
FORMS = ("module", "script")
"""How a package runs: `python -m <name>.main`, or `python run_<name>.py`."""
CONSTANT_BUCKETS = {
    "conformance-archive-bucket": "archive",
    "conformance-missing-bucket": "missing",
}
"""Placeholder literal in a package's source -> the bucket of the test written in its place."""
PLACEHOLDER = re.compile(r'"conformance-[a-z-]*bucket"')
NATIVE_PACKAGE = ("infrar_native/__init__.py", "infrar_native/resources.py",
                  "infrar_native/storage.py")
PROVIDERS = ("local", "aws", "gcp", "azure")
REQUIREMENTS = {
    "local": "",
    "aws": "boto3>=1.28\n",
    "gcp": "google-cloud-storage>=2.10\n",
    "azure": "azure-storage-blob>=12.17\n",
}
STORAGE_FOREIGN = ("AWS_ENDPOINT_URL_S3", "STORAGE_EMULATOR_HOST", "API_ENDPOINT_OVERRIDE",
                   "AZURE_STORAGE_ACCOUNT_URL")
"""Beside the shared ones: what could point a run at another object store."""
_clean_env = runner.environment_without(*STORAGE_FOREIGN)


def _bucket_name() -> str:
    return runner.fresh_name("conf-", 20)


@dataclass
class Backend:
    """A provider ready for one test: what its runs need in the environment, fresh buckets
    (created: the first two, named by the environment, and the archive; not: the missing)."""

    provider: str
    env: dict[str, str]
    buckets: list[str] = field(default_factory=lambda: [_bucket_name() for _ in range(3)])
    missing: str = field(default_factory=_bucket_name)

    @property
    def constants(self) -> dict[str, str]:
        """Placeholder literal -> the bucket name a copy of a package holds instead."""
        chosen = {"archive": self.buckets[2], "missing": self.missing}
        return {placeholder: chosen[role] for placeholder, role in CONSTANT_BUCKETS.items()}

    def run(self, script: Path, *, pythonpath: Path | None = None) -> runner.Run:
        return self.execute([str(script)], script.parent, pythonpath=pythonpath)

    def run_package(self, tree: Path, package: str, form: str, *,
                    pythonpath: Path | None = None) -> runner.Run:
        arguments = ["-m", f"{package}.main"] if form == "module" else [f"run_{package}.py"]
        return self.execute(arguments, tree, pythonpath=pythonpath)

    def execute(self, arguments: list[str], cwd: Path, *, pythonpath: Path | None) -> runner.Run:
        env = _clean_env({
            **self.env,
            "INFRAR_PROVIDER": self.provider,
            "CONFORMANCE_BUCKET": self.buckets[0],
            "CONFORMANCE_BUCKET_2": self.buckets[1],
            "CONFORMANCE_MISSING_BUCKET": self.missing,
        })
        return runner.run_python(arguments, env, cwd, pythonpath=pythonpath)


def _copy_package(package: str, destination: Path, backend: Backend) -> Path:
    """The package's tree, copied with the backend's bucket names in its constants."""
    shutil.copytree(PACKAGES_DIR / package, destination,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in sorted(destination.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for placeholder, bucket in backend.constants.items():
            text = text.replace(f'"{placeholder}"', f'"{bucket}"')
        unknown = PLACEHOLDER.findall(text)
        assert not unknown, f"{path.name}: {unknown} are not in CONSTANT_BUCKETS"
        path.write_text(text, encoding="utf-8")
    return destination


def _local(folder: Path) -> Backend:
    backend = Backend("local", {"INFRAR_LOCAL_ROOT": str(folder / "local-root")})
    for bucket in backend.buckets:
        (folder / "local-root" / bucket).mkdir(parents=True)
    return backend


def _aws(request: pytest.FixtureRequest) -> Backend:
    import boto3

    emulator = request.getfixturevalue("moto_s3")
    backend = Backend("aws", dict(emulator.env))
    client = boto3.session.Session().client(
        "s3", endpoint_url=emulator.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")
    for bucket in backend.buckets:
        client.create_bucket(Bucket=bucket)
    return backend


def _gcp(request: pytest.FixtureRequest) -> Backend:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    emulator = request.getfixturevalue("gcs_emulator")
    signing_key = request.getfixturevalue("gcs_signing_key")
    backend = Backend("gcp", {**emulator.env, "GOOGLE_APPLICATION_CREDENTIALS": str(signing_key)})
    client = storage.Client(project=emulator.project, credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": emulator.endpoint})
    for bucket in backend.buckets:
        client.create_bucket(bucket)
    return backend


def _azure(request: pytest.FixtureRequest) -> Backend:
    from azure.storage.blob import BlobServiceClient

    emulator = request.getfixturevalue("azurite")
    backend = Backend("azure", dict(emulator.env))
    client = BlobServiceClient.from_connection_string(emulator.connection_string)
    for bucket in backend.buckets:
        client.create_container(bucket)
    return backend


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    provider: str = request.param
    if provider == "local":
        return _local(tmp_path)
    return {"aws": _aws, "gcp": _gcp, "azure": _azure}[provider](request)


@pytest.fixture(scope="session")
def gcs_signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway service-account key file: google-auth signs URLs with it, offline."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {
        "type": "service_account", "project_id": "test-project", "private_key_id": "0",
        "private_key": pem, "client_email": "signer@test-project.iam.gserviceaccount.com",
        "client_id": "0", "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path_factory.mktemp("gcs-signer") / "service-account.json"
    path.write_text(json.dumps(info))
    return path


def _transform(source: Path, provider: str, out: Path) -> Path:
    return runner.transform(source, provider, out, _clean_env({}))


@pytest.fixture(scope="session")
def transformed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Provider -> the folder `infrar transform --provider P --out` wrote the programs to."""
    return runner.Memo(lambda provider: _transform(
        PROGRAMS_DIR, provider, tmp_path_factory.mktemp(f"transformed-{provider}") / "out"))


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Program or package -> what the SDK prints on the local backend (a package run as
    `python -m <name>.main`): every run must print the same."""

    def compute(name: str) -> str:
        folder = tmp_path_factory.mktemp(f"reference-{name}")
        backend = _local(folder)
        if name in PACKAGES:
            tree = _copy_package(name, folder / "tree", backend)
            result = backend.run_package(tree, name, "module")
        else:
            result = backend.run(PROGRAMS_DIR / f"{name}.py")
        assert result.returncode == 0, result.stderr
        return result.stdout

    return runner.Memo(compute)


def _assert_native_tree(source: Path, tree: Path, provider: str) -> None:
    """`tree` is `source` transformed for `provider`: every module where it was, none of them
    importing infrar, the native package beside them and the native requirements."""
    modules = {p.relative_to(source).as_posix() for p in source.rglob("*.py")}
    expected = modules | set(NATIVE_PACKAGE)
    written = {p.relative_to(tree).as_posix() for p in tree.rglob("*.py")}
    assert written == expected, sorted(written ^ expected)
    for module in sorted(modules):
        imported = runner.infrar_imports(tree / module)
        assert not imported, f"{module} still imports {sorted(imported)}"
    assert (tree / "requirements.infrar.txt").read_text() == REQUIREMENTS[provider]


@pytest.mark.parametrize("program", PROGRAMS + PACKAGES)
def test_reference_transcript_is_pinned(program: str, reference: dict[str, str]) -> None:
    lines = runner.assert_pinned(reference[program], TRANSCRIPTS_DIR / f"{program}.txt")
    assert len(lines) >= 20
    assert not [line for line in lines if "raises" in line and not line.endswith(": True")]


def test_every_transcript_has_a_program() -> None:
    assert not set(PROGRAMS) & set(PACKAGES)
    assert sorted(p.stem for p in TRANSCRIPTS_DIR.glob("*.txt")) == sorted(PROGRAMS + PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_layout(package: str) -> None:
    """A package tree holds its package with an entry point, and the loose script beside it."""
    tree = PACKAGES_DIR / package
    assert (tree / package / "__init__.py").is_file()
    assert (tree / package / "main.py").is_file()
    assert (tree / f"run_{package}.py").is_file()
    assert not list(tree.rglob(".infrar.yaml")), "logical names must be the physical ones"


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
@pytest.mark.parametrize("program", PROGRAMS)
def test_sdk(program: str, backend: Backend, reference: dict[str, str]) -> None:
    result = backend.run(PROGRAMS_DIR / f"{program}.py")
    runner.assert_same(reference[program], result, f"SDK on {backend.provider}")


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
@pytest.mark.parametrize("program", PROGRAMS)
def test_transformed(program: str, backend: Backend, reference: dict[str, str],
                     transformed: dict[str, Path], blocker: Path) -> None:
    script = transformed[backend.provider] / f"{program}.py"
    runner.assert_transformed_prints(reference[program], script, backend.run, blocker,
                                     f"transformed for {backend.provider}")


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("package", PACKAGES)
def test_package_sdk(package: str, form: str, backend: Backend, reference: dict[str, str],
                     tmp_path: Path) -> None:
    tree = _copy_package(package, tmp_path / "tree", backend)
    result = backend.run_package(tree, package, form)
    runner.assert_same(reference[package], result, f"SDK on {backend.provider}, {form}")


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("package", PACKAGES)
def test_package_transformed(package: str, form: str, backend: Backend,
                             reference: dict[str, str], blocker: Path, tmp_path: Path) -> None:
    source = _copy_package(package, tmp_path / "src", backend)
    tree = _transform(source, backend.provider, tmp_path / "out")
    _assert_native_tree(source, tree, backend.provider)
    # The constants, imported across modules, are known; with no .infrar.yaml each is its own
    # physical name. Names from the environment are not in the table: they pass through.
    text = "".join(p.read_text("utf-8") for p in sorted(source.rglob("*.py")))
    constants = {name: name for name in backend.constants.values() if f'"{name}"' in text}
    assert runner.name_table(tree) == {"default": {"bucket": constants}}
    result = backend.run_package(tree, package, form, pythonpath=blocker)
    runner.assert_same(reference[package], result, f"transformed for {backend.provider}, {form}")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_transformed_programs_tree(provider: str, transformed: dict[str, Path]) -> None:
    _assert_native_tree(PROGRAMS_DIR, transformed[provider], provider)


def test_blocker_blocks(blocker: Path, tmp_path: Path) -> None:
    script = tmp_path / "uses_sdk.py"
    script.write_text("import infrar.storage\nprint('imported')\n")
    backend = _local(tmp_path)
    blocked = backend.run(script, pythonpath=blocker)
    assert blocked.returncode != 0
    assert runner.BLOCKER_MESSAGE in blocked.stderr
    assert "imported" not in blocked.stdout
    free = backend.run(script)
    assert (free.returncode, free.stdout) == (0, "imported\n"), free.stderr


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("package", PACKAGES)
def test_blocker_blocks_packages(package: str, form: str, blocker: Path, tmp_path: Path) -> None:
    backend = _local(tmp_path)
    tree = _copy_package(package, tmp_path / "tree", backend)
    blocked = backend.run_package(tree, package, form, pythonpath=blocker)
    assert blocked.returncode != 0
    assert runner.BLOCKER_MESSAGE in blocked.stderr


def test_sdk_imports_no_third_party_module(tmp_path: Path) -> None:
    imports = ("import infrar.storage\n"
               "from infrar.storage import ObjectInfo, StorageError, upload\n")
    for provider in PROVIDERS:
        runner.assert_loads_no_third_party(imports, _clean_env({"INFRAR_PROVIDER": provider}),
                                           tmp_path)


LAZY_MODULE = ("handler", "handle", (
        "from infrar.storage import ObjectNotFoundError, read, write\n\n\n"
        "def handle(key):\n"
        "    try:\n"
        "        return read('uploads', key)\n"
        "    except ObjectNotFoundError:\n"
        "        write('uploads', key, b'')\n"
        "        return b''\n"))
"""A storage module whose clients are made on first use, and its function."""


@pytest.mark.parametrize("provider", PROVIDERS)
def test_transformed_module_imports_without_configuration(provider: str, tmp_path: Path,
                                                          blocker: Path) -> None:
    runner.assert_imports_unconfigured(LAZY_MODULE, provider, tmp_path, blocker, _clean_env)
