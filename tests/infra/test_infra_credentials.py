"""`infrar credentials check` and `infrar bootstrap`: schemas from the plugin, secrets masked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from infra_support import ALL_PROVIDERS

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GUID = "0b1f6471-1bf0-4dda-aec3-111122223333"
SA_KEY = json.dumps({
    "type": "service_account", "project_id": "photo-app-123",
    "private_key": ("-----BEGIN PRIVATE KEY-----\nMIIEvg-not-a-real-key\n"
                    "-----END PRIVATE KEY-----\n"),
    "client_email": "deploy@photo-app-123.iam.gserviceaccount.com",
})

VALID = [
    ("aws", "static_keys", {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                            "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
     ["AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=********"]),
    ("aws", "web_identity", {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy",
                             "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"},
     ["AWS_ROLE_ARN=arn:aws:iam::123456789012:role/deploy", "AWS_ROLE_SESSION_NAME=infrar"]),
    ("gcp", "service_account_key", {"GOOGLE_CREDENTIALS": SA_KEY},
     ["GOOGLE_CREDENTIALS=******** (secret"]),
    ("gcp", "workload_identity", {"GOOGLE_APPLICATION_CREDENTIALS": "/tmp/wif.json",
                                  "GOOGLE_PROJECT": "photo-app-123"},
     ["GOOGLE_APPLICATION_CREDENTIALS=/tmp/wif.json"]),
    ("azure", "service_principal", {"ARM_CLIENT_ID": GUID, "ARM_CLIENT_SECRET": SECRET_KEY,
                                    "ARM_TENANT_ID": GUID, "ARM_SUBSCRIPTION_ID": GUID},
     ["ARM_CLIENT_SECRET=********", f"ARM_TENANT_ID={GUID}"]),
    ("azure", "managed_identity", {"ARM_SUBSCRIPTION_ID": GUID},
     ["ARM_USE_MSI=true", f"ARM_SUBSCRIPTION_ID={GUID}"]),
]
ALL_VARIABLES = sorted({name for _, _, env, _ in VALID for name in env})


@pytest.fixture
def clean_env(monkeypatch):
    for name in [*ALL_VARIABLES, "AWS_SESSION_TOKEN", "AWS_ROLE_SESSION_NAME", "ARM_CLIENT_ID",
                 "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("provider", "method", "env", "shown"), VALID,
                         ids=[f"{p}-{m}" for p, m, _, _ in VALID])
def test_valid_credentials_show_the_terraform_environment(clean_env, run, provider, method,
                                                          env, shown) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    result = run("credentials", "check", "-p", provider, "-m", method)
    assert result.exit_code == 0, result.output
    for line in shown:
        assert line in result.output
    assert SECRET_KEY not in result.output and "MIIEvg" not in result.output


def test_invalid_credentials_never_echo_the_value(clean_env, run) -> None:
    clean_env.setenv("AWS_ACCESS_KEY_ID", "not-a-key-id")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "short-secret-value")
    result = run("credentials", "check", "-p", "aws", "-m", "static_keys")
    assert result.exit_code == 2
    assert "access_key_id (AWS_ACCESS_KEY_ID): does not have the expected format" in result.output
    assert "secret_access_key (AWS_SECRET_ACCESS_KEY): does not have the expected format" in \
        result.output
    assert "short-secret-value" not in result.output and "not-a-key-id" not in result.output


def test_missing_credentials_are_named(clean_env, run) -> None:
    result = run("credentials", "check", "-p", "azure", "-m", "service_principal")
    assert result.exit_code == 2
    for field in ("client_id", "client_secret", "tenant_id", "subscription_id"):
        assert f"'{field}' is a required property" in result.output


def test_key_file_content_is_checked_against_its_own_schema(clean_env, run, tmp_path) -> None:
    key = tmp_path / "key.json"
    key.write_text(SA_KEY)
    assert run("credentials", "check", "-p", "gcp", "-m", "service_account_key",
               "--file", str(key)).exit_code == 0
    key.write_text(json.dumps({**json.loads(SA_KEY), "type": "authorized_user"}))
    result = run("credentials", "check", "-p", "gcp", "-m", "service_account_key",
                 "--file", str(key))
    assert result.exit_code == 2
    assert "credentials (GOOGLE_CREDENTIALS).type: is not the accepted value" in result.output
    key.write_text("{not json")
    result = run("credentials", "check", "-p", "gcp", "-m", "service_account_key",
                 "--file", str(key))
    assert "credentials (GOOGLE_CREDENTIALS): is not valid JSON" in result.output


def test_credentials_file_of_fields(clean_env, run, tmp_path) -> None:
    creds = tmp_path / "creds.yaml"
    creds.write_text(f"client_id: {GUID}\nclient_secret: {SECRET_KEY}\ntenant_id: {GUID}\n"
                     f"subscription_id: {GUID}\nextra: 1\n")
    result = run("credentials", "check", "-p", "azure", "-m", "service_principal",
                 "--file", str(creds))
    assert result.exit_code == 2
    assert "creds.yaml:5: extra: must be a string" in result.output
    assert SECRET_KEY not in result.output


def test_methods_and_unknown_method(run) -> None:
    listed = run("credentials", "methods", "-p", "aws")
    assert "web_identity (default)" in listed.output and "AWS_SECRET_ACCESS_KEY" in listed.output
    unknown = run("credentials", "check", "-p", "aws", "-m", "password")
    assert unknown.exit_code == 2 and "has no authentication method 'password'" in unknown.output


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_bootstrap_scripts_render_and_parse(project, run, provider, tmp_path) -> None:
    result = run("bootstrap", "-p", provider, "-e", "dev", "--print")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in result.output
    script = tmp_path / "bootstrap.sh"
    script.write_text(result.output)
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


def test_local_bootstrap_runs(project, run, tmp_path, monkeypatch) -> None:
    target = tmp_path / "boot" / "root"
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(target))
    out = tmp_path / "bootstrap.sh"
    assert run("bootstrap", "-p", "local", "--out", str(out)).exit_code == 0
    ran = subprocess.run([str(out)], capture_output=True, text=True, check=False)
    assert ran.returncode == 0 and target.is_dir()
    assert run("bootstrap", "-p", "local").exit_code == 2


def test_sdk_import_stays_free_of_third_party_modules() -> None:
    probe = ("import sys; import infrar.storage; "
             "bad = [m for m in ('yaml', 'jinja2', 'jsonschema', 'click', 'infrar.engine') "
             "if m in sys.modules]; print(bad)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
