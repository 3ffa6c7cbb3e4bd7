"""The secrets contract holds identically everywhere.

`secrets_programs/secrets_contract.py` runs through the SDK and, transformed by `infrar
transform`, as plain native code, on every provider: local folders, moto (Secrets Manager),
and local fakes of Secret Manager and Key Vault, which have no emulator (see secrets_fakes.py).
Each run must print exactly the transcript of the SDK on the local backend, pinned in
`secrets_transcripts/` (regenerate with INFRAR_UPDATE_GOLDEN=1 and review). Transformed
programs run with an `infrar` package first on PYTHONPATH that refuses to import.

On the fakes every request is asserted too: the program's calls become exactly the REST
requests the services document (paths, bodies, authentication), in order, and nothing else.
A fresh canary value is stored by every run, and must never reach the program's output.

The program names its secrets with constants, which each test replaces with fresh names (the
emulator and fakes are shared by the tests of a worker), and makes them first as Terraform
would: on Key Vault, which has no secret without a value, there is nothing to make.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import runner
from secrets_fakes import KeyVaultFake, SecretManagerFake, self_signed_certificate
from secrets_fakes import service_account_key as make_service_account_key

HERE = Path(__file__).resolve().parent
PROGRAMS_DIR = HERE / "secrets_programs"
PROGRAM = "secrets_contract"
TRANSCRIPT = HERE / "secrets_transcripts" / f"{PROGRAM}.txt"
PROVIDERS = ("local", "aws", "gcp", "azure")
PLACEHOLDERS = {
    "conformance-api-token-secret": "api",
    "conformance-unset-secret": "unset",
    "conformance-versioned-secret": "versioned",
}
REQUIREMENTS = {
    "local": "",
    "aws": "boto3>=1.28\n",
    "gcp": "google-cloud-secret-manager>=2.16\n",
    "azure": "azure-identity>=1.15\nazure-keyvault-secrets>=4.7\n",
}
GCP_PROJECT = "test-project"
_KEY_PAIR = make_service_account_key()
"""A throwaway service-account key file's content, and the public key the fake checks with."""
# Prefixes and names that could point a run at another backend, account or trust store.
FOREIGN_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "CLOUDSDK_", "IDENTITY_", "MSI_", "INFRAR_")
FOREIGN_VARIABLES = frozenset({
    "PYTHONPATH", "GCLOUD_PROJECT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
    "IMDS_ENDPOINT", "STORAGE_EMULATOR_HOST",
})

# What the program asks of the service, in order, once the SDK's own checks let a call through:
# ("set", role or name, value) and ("get", role or name, version role or None).
FIRST_TEXT = "pässwörd ☃ 🔑 line\nbreak\ttab \"quotes\" 'apostrophes' \\ ${x} %s"
LARGEST = "é" * 12_500
CALLS: list[tuple[str, str, str | None]] = [
    ("set", "api", "first token"), ("get", "api", None),
    ("set", "api", "second token"), ("get", "api", None),
    ("set", "api", FIRST_TEXT), ("get", "api", None),
    ("set", "api", LARGEST), ("get", "api", None),
    ("get", "api", None),
    ("get", "a" * 127, None),
    ("get", "missing", None),
    ("get", "unset", None), ("get", "unset", None),
    ("get", "versioned", None), ("get", "versioned", "old"), ("get", "versioned", None),
    ("get", "versioned", "unknown"),
    ("set", "api", "canary"), ("get", "api", None),
]


_clean_env = runner.environment_without(*FOREIGN_VARIABLES, prefixes=FOREIGN_PREFIXES)


@dataclass
class Backend:
    """A provider ready for one test: its run environment, fresh secret names, the versions
    of VERSIONED, and the fake (if any) that records what the runs send."""

    provider: str
    env: dict[str, str]
    names: dict[str, str] = field(default_factory=lambda: {
        role: f"conf-{uuid.uuid4().hex[:16]}-{role}"
        for role in (*PLACEHOLDERS.values(), "missing")})
    versions: dict[str, str] = field(default_factory=dict)
    canary: str = field(default_factory=lambda: f"canary-{secrets.token_hex(16)}")
    fake: SecretManagerFake | KeyVaultFake | None = None

    def program(self, folder: Path) -> Path:
        """A copy of the program with this backend's names in its constants."""
        folder.mkdir(parents=True)
        text = (PROGRAMS_DIR / f"{PROGRAM}.py").read_text(encoding="utf-8")
        for placeholder, role in PLACEHOLDERS.items():
            assert f'"{placeholder}"' in text, placeholder
            text = text.replace(f'"{placeholder}"', f'"{self.names[role]}"')
        target = folder / f"{PROGRAM}.py"
        target.write_text(text, encoding="utf-8")
        return target

    def run(self, script: Path, *, pythonpath: Path | None = None) -> runner.Run:
        env = _clean_env({
            **self.env,
            "INFRAR_PROVIDER": self.provider,
            "CONFORMANCE_OLD_VERSION": self.versions["old"],
            "CONFORMANCE_UNKNOWN_VERSION": self.versions["unknown"],
            "CONFORMANCE_CANARY": self.canary,
            "CONFORMANCE_MISSING_SECRET": self.names["missing"],
        })
        if self.fake is not None:
            self.fake.take_requests()
        return runner.run_python([str(script)], env, script.parent, pythonpath=pythonpath)

    def calls(self) -> list[tuple[str, str, str | None]]:
        """CALLS with this backend's names, values and version IDs."""
        resolved = []
        for verb, who, what in CALLS:
            name = self.names.get(who, who)
            if verb == "set":
                what = self.canary if what == "canary" else what
            elif what is not None:
                what = self.versions[what]
            resolved.append((verb, name, what))
        return resolved


# --- backends ------------------------------------------------------------------------------


def _local(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    root = folder / "local-root"
    backend = Backend("local", {"INFRAR_LOCAL_ROOT": str(root)})
    for role in PLACEHOLDERS.values():
        (root / ".infrar-secrets" / backend.names[role]).mkdir(parents=True, mode=0o700)
    import infrar.secrets

    monkeypatch.setenv("INFRAR_PROVIDER", "local")
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(root))
    infrar.secrets.set_secret(backend.names["versioned"], "first edition")
    infrar.secrets.set_secret(backend.names["versioned"], "second edition")
    backend.versions = {"old": "1", "unknown": "999"}
    return backend


def _aws(request: pytest.FixtureRequest) -> Backend:
    import boto3

    emulator = request.getfixturevalue("moto_s3")  # moto serves Secrets Manager at the same URL
    backend = Backend("aws", dict(emulator.env))
    client = boto3.session.Session().client(
        "secretsmanager", endpoint_url=emulator.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")
    for role in PLACEHOLDERS.values():
        client.create_secret(Name=backend.names[role])  # as Terraform does: no value
    name = backend.names["versioned"]
    first = client.put_secret_value(SecretId=name, SecretString="first edition")
    client.put_secret_value(SecretId=name, SecretString="second edition")
    backend.versions = {"old": first["VersionId"], "unknown": str(uuid.uuid4())}
    return backend


def _gcp(request: pytest.FixtureRequest) -> Backend:
    fake: SecretManagerFake = request.getfixturevalue("secret_manager_fake")
    key_file: Path = request.getfixturevalue("service_account_key")
    backend = Backend("gcp", {
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "GOOGLE_CLOUD_PROJECT": GCP_PROJECT,
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": f"{fake.endpoint}/"}, fake=fake)
    for role in PLACEHOLDERS.values():
        fake.secrets[backend.names[role]] = []  # as Terraform does: no version
    fake.secrets[backend.names["versioned"]] += [b"first edition", b"second edition"]
    backend.versions = {"old": "1", "unknown": "999"}
    return backend


def _azure(request: pytest.FixtureRequest) -> Backend:
    fake: KeyVaultFake = request.getfixturevalue("key_vault_fake")
    backend = Backend("azure", {
        "AZURE_KEYVAULT_URL": fake.vault_url, "IDENTITY_ENDPOINT": fake.identity_endpoint,
        "IDENTITY_HEADER": fake.identity_header, "REQUESTS_CA_BUNDLE": str(fake.certificate)},
        fake=fake)
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    fake.secrets[backend.names["versioned"]] = [(first, "first edition"),
                                                 (second, "second edition")]
    backend.versions = {"old": first, "unknown": uuid.uuid4().hex}
    return backend


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Backend:
    provider: str = request.param
    if provider == "local":
        return _local(tmp_path, monkeypatch)
    return {"aws": _aws, "gcp": _gcp, "azure": _azure}[provider](request)


@pytest.fixture(scope="module")
def service_account_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gcp-key") / "service-account.json"
    path.write_text(json.dumps(_KEY_PAIR[0]))
    return path


@pytest.fixture(scope="module")
def secret_manager_fake() -> Iterator[SecretManagerFake]:
    yield from runner.until_stopped(SecretManagerFake(GCP_PROJECT, _KEY_PAIR[1]).start())


@pytest.fixture(scope="module")
def key_vault_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyVaultFake]:
    certificate, key = self_signed_certificate(tmp_path_factory.mktemp("vault-tls"))
    yield from runner.until_stopped(KeyVaultFake(certificate, key).start())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What the SDK prints on the local backend: every run must print the same."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        backend = _local(tmp_path_factory.mktemp("reference"), monkeypatch)
    script = backend.program(tmp_path_factory.mktemp("reference-program") / "src")
    result = backend.run(script)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- helpers ---------------------------------------------------------------------------------


def _transform(source: Path, provider: str, out: Path) -> Path:
    return runner.transform(source, provider, out, _clean_env({}))


def _assert_same(expected: str, result: runner.Run, label: str, backend: Backend) -> None:
    assert backend.canary not in result.stdout + result.stderr, f"{label} showed the value"
    runner.assert_same(expected, result, label)


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _assert_requests(backend: Backend) -> None:
    """The requests the fake received are exactly the program's calls, as the service's REST
    API spells them, each authenticated; Key Vault's come after its challenge and the token."""
    if backend.fake is None:
        return
    received = backend.fake.take_requests()
    if isinstance(backend.fake, SecretManagerFake):
        base = f"/v1/projects/{GCP_PROJECT}/secrets"
        expected = [("POST", f"{base}/{name}:addVersion", {"payload": {"data": _b64(what)}})
                    if verb == "set" else
                    ("GET", f"{base}/{name}/versions/{what or 'latest'}:access", None)
                    for verb, name, what in backend.calls()]
        for request in received:
            assert request.query == {"$alt": ["json;enum-encoding=int"]}, request
            assert request.headers["authorization"].startswith("Bearer ey"), request
        assert [(r.method, r.path, r.body) for r in received] == expected
        return
    expected = [("PUT", f"/secrets/{name}", {"value": what}) if verb == "set" else
                ("GET", f"/secrets/{name}/{what or ''}", None)
                for verb, name, what in backend.calls()]
    challenge, token, *authorized = received
    first_method, first_path, _ = expected[0]
    # The challenge: the first request again, with neither authorization nor body.
    assert (challenge.method, challenge.path, challenge.body) == (first_method, first_path, None)
    assert "authorization" not in challenge.headers
    assert (token.method, token.path) == ("GET", KeyVaultFake.TOKEN_PATH)
    assert token.headers["x-identity-header"] == backend.env["IDENTITY_HEADER"]
    assert [(r.method, r.path, r.body) for r in authorized] == expected
    for request in authorized:
        assert request.headers["authorization"].startswith("Bearer "), request
        assert request.query["api-version"], request


# --- tests -----------------------------------------------------------------------------------


def test_reference_transcript_is_pinned(reference: str) -> None:
    lines = runner.assert_pinned(reference, TRANSCRIPT)
    assert len(lines) >= 30
    assert not [line for line in lines if " raises " in line and ": True (" not in line]


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
def test_sdk(backend: Backend, reference: str, tmp_path: Path) -> None:
    result = backend.run(backend.program(tmp_path / "src"))
    _assert_same(reference, result, f"SDK on {backend.provider}", backend)
    _assert_requests(backend)


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
def test_transformed(backend: Backend, reference: str, blocker: Path, tmp_path: Path) -> None:
    source = backend.program(tmp_path / "src")
    tree = _transform(source.parent, backend.provider, tmp_path / "out")
    written = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.py"))
    assert written == ["infrar_native/__init__.py", "infrar_native/resources.py",
                       "infrar_native/secrets.py", f"{PROGRAM}.py"]
    code = (tree / f"{PROGRAM}.py").read_text(encoding="utf-8")
    assert "from infrar_native.secrets import" in code and "infrar.secrets" not in code
    assert (tree / "requirements.infrar.txt").read_text() == REQUIREMENTS[backend.provider]
    # The constants are known names (with no .infrar.yaml each is its own physical name); the
    # names from the environment pass through as they are.
    constants = {backend.names[role]: backend.names[role] for role in PLACEHOLDERS.values()}
    assert runner.name_table(tree) == {"default": {"secret": constants}}
    result = backend.run(tree / f"{PROGRAM}.py", pythonpath=blocker)
    _assert_same(reference, result, f"transformed for {backend.provider}", backend)
    _assert_requests(backend)


def test_the_request_check_would_notice(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """One call more than the program makes, and the fake's record no longer matches."""
    backend = _gcp(request)
    result = backend.run(backend.program(tmp_path / "src"))
    assert result.returncode == 0, result.stderr
    assert backend.fake is not None
    received = backend.fake.requests
    backend.fake.requests = [*received, received[-1]]
    with pytest.raises(AssertionError):
        _assert_requests(backend)


def test_local_versions_are_private_files(request: pytest.FixtureRequest, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """On local every version is a file only its owner can read, in a folder only its owner
    may enter; a refused value writes nothing."""
    backend = _local(tmp_path, monkeypatch)
    result = backend.run(backend.program(tmp_path / "src"))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "local-root" / ".infrar-secrets" / backend.names["api"]
    versions = sorted(folder.iterdir(), key=lambda p: int(p.name))
    assert [p.name for p in versions] == ["1", "2", "3", "4", "5"]
    assert {p.stat().st_mode & 0o777 for p in versions} == {0o600}
    assert folder.stat().st_mode & 0o777 == 0o700
    assert versions[-1].read_text(encoding="utf-8") == backend.canary
    assert versions[0].read_text(encoding="utf-8") == "first token"


DEBUG_LOGGING = """\
import logging, os, sys


class Everything(logging.Formatter):
    def format(self, record):
        return f"{record.name} {record.getMessage()} {vars(record)}"


handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(Everything())
logging.basicConfig(level=logging.DEBUG, handlers=[handler])
logging.getLogger("google").propagate = True
logging.getLogger("google").setLevel(logging.DEBUG)
from infrar.secrets import get_secret, set_secret
name, canary = sys.argv[1], os.environ["CONFORMANCE_CANARY"]
set_secret(name, canary)
print(get_secret(name) == canary)
"""


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
def test_debug_logs_never_show_the_value(backend: Backend, tmp_path: Path) -> None:
    """With every logger at DEBUG (each record printed with all its attributes), the client
    libraries log their requests and responses, but none that carries the value."""
    script = tmp_path / "debug_logging.py"
    script.write_text(DEBUG_LOGGING)
    env = _clean_env({**backend.env, "INFRAR_PROVIDER": backend.provider,
                      "CONFORMANCE_CANARY": backend.canary})
    result = runner.run_python([str(script), backend.names["api"]], env, tmp_path)
    assert (result.returncode, result.stdout) == (0, "True\n"), result.stderr
    if backend.provider != "local":
        assert result.stderr.count("\n") > 5, "the libraries logged nothing: the test shows nothing"
    assert backend.canary not in result.stderr
    assert _b64(backend.canary) not in result.stderr
    if backend.fake is not None:
        backend.fake.take_requests()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sdk_imports_no_third_party_module(provider: str, tmp_path: Path) -> None:
    imports = ("from infrar.secrets import SecretNotFoundError, SecretsError, get_secret, "
               "set_secret\n")
    runner.assert_loads_no_third_party(imports, _clean_env({"INFRAR_PROVIDER": provider}),
                                       tmp_path)


SET_UNDEPLOYED = """\
import sys
from infrar.secrets import SecretNotFoundError, get_secret, set_secret
try:
    set_secret(sys.argv[1], "value")
except SecretNotFoundError:
    print("SecretNotFoundError")
else:
    print("created:", get_secret(sys.argv[1]))
"""


@pytest.mark.parametrize("backend", PROVIDERS, indirect=True)
def test_set_on_a_secret_that_was_never_deployed(backend: Backend, tmp_path: Path) -> None:
    """Where Terraform makes the secrets, writing to another name finds none; Key Vault has no
    empty secrets for Terraform to make, so there the first write creates it (documented)."""
    env = _clean_env({**backend.env, "INFRAR_PROVIDER": backend.provider})
    result = runner.run_python(["-c", SET_UNDEPLOYED, backend.names["missing"]], env, tmp_path)
    expected = "created: value\n" if backend.provider == "azure" else "SecretNotFoundError\n"
    assert (result.returncode, result.stdout) == (0, expected), result.stderr
    if backend.fake is not None:
        backend.fake.take_requests()
