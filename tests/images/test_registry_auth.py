"""Registry logins: ECR's token through boto3 (moto stands in for AWS, in process), ACR's
token exchange against a loopback registry, and a clear message when an extra is missing."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator

import pytest
from flask import request
from registry_fake import FakeRegistry

from infrar.engine.registry_auth import (
    ACR_USERNAME,
    RegistryLoginError,
    acr_refresh_token,
    ecr_login,
    registry_login,
)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_ecr_login_is_the_user_and_password_of_ecrs_authorization_token(
        aws_credentials: None) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        token = boto3.client("ecr", region_name="eu-west-1").get_authorization_token()
        expected = base64.b64decode(token["authorizationData"][0]["authorizationToken"])
        credentials = ecr_login("eu-west-1")
    assert f"{credentials.username}:{credentials.password}".encode() == expected
    assert credentials.username == "AWS" and credentials.password


def test_a_loopback_registry_needs_no_login() -> None:
    assert registry_login("aws", "127.0.0.1:5000") is None
    assert registry_login("gcp", "localhost:5000") is None


@pytest.mark.parametrize(("provider", "module", "extra"), [
    ("aws", "boto3", "aws"),
    ("gcp", "google.auth", "gcp"),
    ("azure", "azure.identity", "azure"),
])
def test_without_the_providers_extra_the_error_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, provider: str, module: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(RegistryLoginError) as raised:
        registry_login(provider, "registry.example.com")
    assert (f"pip install 'infrar[{extra}] @ git+https://github.com/infrar/infrar@<release tag>'"
            in str(raised.value))


@pytest.fixture
def acr() -> Iterator[tuple[FakeRegistry, list[dict[str, str]]]]:
    fake = FakeRegistry()
    seen: list[dict[str, str]] = []

    @fake.app.post("/oauth2/exchange")
    def exchange() -> dict[str, str]:
        seen.append(dict(request.form))
        if request.form.get("access_token") != "entra-token":
            return {"error": "bad token"}
        return {"refresh_token": "acr-refresh-token"}

    yield fake.start(), seen
    fake.stop()


def test_acr_exchanges_an_entra_token_for_a_registry_refresh_token(
        acr: tuple[FakeRegistry, list[dict[str, str]]]) -> None:
    registry, exchanges = acr
    assert acr_refresh_token(registry.host, "entra-token", scheme="http") == "acr-refresh-token"
    assert exchanges == [{"grant_type": "access_token", "service": registry.host,
                          "access_token": "entra-token"}]
    assert ACR_USERNAME == "00000000-0000-0000-0000-000000000000"
    with pytest.raises(RegistryLoginError):
        acr_refresh_token(registry.host, "another-token", scheme="http")
