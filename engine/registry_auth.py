"""Short-lived registry logins from the provider's own credentials: an ECR authorization
token (boto3), a Google access token (google-auth) for Artifact Registry, an ACR refresh token
exchanged for a Microsoft Entra token (azure-identity). Each needs the provider's extra."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request

from infrar.engine.buildah import RegistryCredentials
from infrar.engine.diagnostics import EngineError

GOOGLE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AZURE_SCOPE = "https://management.azure.com/.default"
ACR_USERNAME = "00000000-0000-0000-0000-000000000000"
GOOGLE_USERNAME = "oauth2accesstoken"
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


class RegistryLoginError(EngineError):
    """No login could be had for the registry (missing extra, or the provider refused)."""


def registry_login(provider: str, host: str, *, region: str | None = None
                   ) -> RegistryCredentials | None:
    """Credentials to push to `host`; None for a loopback registry (tests, local mirrors)."""
    if host.rsplit(":", 1)[0] in _LOOPBACK:
        return None
    if provider == "aws":
        return ecr_login(region)
    if provider == "gcp":
        return google_login()
    if provider == "azure":
        return acr_login(host)
    raise RegistryLoginError(f"provider {provider!r} has no registry to log in to")


def ecr_login(region: str | None) -> RegistryCredentials:
    try:
        import boto3
    except ImportError:
        raise _missing("aws", "boto3") from None
    try:
        data = boto3.client("ecr", region_name=region).get_authorization_token()
        token = data["authorizationData"][0]["authorizationToken"]
    except Exception as exc:  # botocore's errors, without importing botocore for them
        raise RegistryLoginError(f"ECR refused a login token: {exc}") from None
    username, _, password = base64.b64decode(token).decode().partition(":")
    return RegistryCredentials(username, password)


def google_login() -> RegistryCredentials:
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        raise _missing("gcp", "google-auth") from None
    try:
        credentials, _ = google.auth.default(scopes=[GOOGLE_SCOPE])
        credentials.refresh(google.auth.transport.requests.Request())
    except Exception as exc:  # google.auth.exceptions.*
        raise RegistryLoginError(f"no Google access token: {exc}") from None
    return RegistryCredentials(GOOGLE_USERNAME, str(credentials.token))


def acr_login(host: str) -> RegistryCredentials:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise _missing("azure", "azure-identity") from None
    try:
        token = DefaultAzureCredential().get_token(AZURE_SCOPE).token
    except Exception as exc:  # azure.core.exceptions.*
        raise RegistryLoginError(f"no Microsoft Entra token: {exc}") from None
    return RegistryCredentials(ACR_USERNAME, acr_refresh_token(host, token))


def acr_refresh_token(host: str, entra_token: str, *, scheme: str = "https") -> str:
    """ACR's token exchange: an Entra access token for a registry refresh token."""
    form = urllib.parse.urlencode({"grant_type": "access_token", "service": host,
                                   "access_token": entra_token}).encode()
    request = urllib.request.Request(f"{scheme}://{host}/oauth2/exchange", data=form,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            refresh: str = json.load(response)["refresh_token"]
    except (OSError, ValueError, KeyError) as exc:
        raise RegistryLoginError(f"{host} refused the token exchange: {exc}") from None
    return refresh


RELEASE_URL = "git+https://github.com/infrar/infrar@<release tag>"
"""Infrar is installed from its repository at a release tag (it is not on PyPI)."""


def _missing(extra: str, package: str) -> RegistryLoginError:
    return RegistryLoginError(f"logging in to the {extra} registry needs {package}: "
                              f"pip install 'infrar[{extra}] @ {RELEASE_URL}' "
                              "(docs/install.md)")
