"""`infrar credentials check` with nothing set, and what the quickstart tells users to run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "tests" / "node_modules" / ".bin" / "azurite"
ENTRY = "from infrar.cli.main import main; main()"


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "XDG_CACHE_HOME", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep}


@pytest.mark.parametrize(("provider", "variables"), [
    ("aws", ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME (optional)"]),
    ("azure", ["ARM_SUBSCRIPTION_ID", "ARM_TENANT_ID (optional)"]),
])
def test_check_with_nothing_set_names_the_variables_it_looked_for(
        provider: str, variables: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", ENTRY, "credentials", "check", "-p", provider],
                          env=_clean_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 2
    line = next(x for x in done.stderr.splitlines() if "looked for" in x)
    for variable in variables:
        assert variable in line
    assert f"infrar credentials methods -p {provider}" in line


def test_check_with_some_set_does_not_say_nothing_is_set() -> None:
    env = {**_clean_env(), "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy"}
    done = subprocess.run([sys.executable, "-c", ENTRY, "credentials", "check", "-p", "aws"],
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "looked for" not in done.stderr


def _quickstart_azurite_flags() -> set[str]:
    text = (ROOT / "docs" / "quickstart.md").read_text()
    command = re.search(r"npx azurite-blob(.*?)#", text, re.S)
    assert command, "the quickstart shows how to start Azurite"
    return set(re.findall(r"--[A-Za-z]+", command.group(1)))


def test_quickstart_starts_azurite_with_flags_it_has_and_no_telemetry() -> None:
    flags = _quickstart_azurite_flags()
    assert {"--skipApiVersionCheck", "--loose"} <= flags
    if not AZURITE.exists() or shutil.which("node") is None:
        pytest.skip("azurite is not installed (tests/install-emulators.sh)")
    usage = subprocess.run([str(AZURITE), "--help"], capture_output=True, text=True,
                           check=False, timeout=60).stdout
    offered = set(re.findall(r"--[A-Za-z]+", usage))
    assert flags <= offered, flags - offered
    if "--disableTelemetry" in offered:
        assert "--disableTelemetry" in flags


@pytest.mark.parametrize("page", ["quickstart.md", "configuration.md"])
def test_docs_say_to_ignore_the_infrar_folder(page: str) -> None:
    text = (ROOT / "docs" / page).read_text()
    assert re.search(r"\.gitignore", text) and "\n.infrar/\n" in text.replace('"', "\n"), page
