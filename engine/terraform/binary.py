"""Locate the Terraform/OpenTofu executable and report its version."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BINARY_ENV_VAR = "INFRAR_TF_BINARY"
SEARCH_ORDER = ("tofu", "terraform")
VERSION_TIMEOUT_S = 60.0

_VERSION_LINE = re.compile(r"^(Terraform|OpenTofu)\s+v(\S+)", re.MULTILINE)
_PLATFORM_LINE = re.compile(r"^on\s+(\S+)", re.MULTILINE)


class TerraformNotFoundError(RuntimeError):
    """No usable Terraform or OpenTofu executable was found."""


@dataclass(frozen=True)
class TerraformVersion:
    binary: Path
    product: str  # "terraform" or "opentofu"
    version: str
    platform: str | None


def find_binary(*, env: Mapping[str, str] | None = None) -> Path:
    """`$INFRAR_TF_BINARY` if set, else `tofu` on PATH, else `terraform` on PATH."""
    environ = os.environ if env is None else env
    path = environ.get("PATH", os.defpath)
    override = environ.get(BINARY_ENV_VAR, "").strip()
    if override:
        return _resolve_override(override, path=path)
    for name in SEARCH_ORDER:
        found = shutil.which(name, path=path)
        if found:
            return Path(found)
    raise TerraformNotFoundError(
        f"neither 'tofu' nor 'terraform' was found on PATH; install one of them "
        f"or set {BINARY_ENV_VAR} to the executable's path"
    )


def _resolve_override(value: str, *, path: str) -> Path:
    candidate = Path(value).expanduser()
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate.resolve()
    found = shutil.which(value, path=path)
    if found and os.sep not in value:
        return Path(found)
    raise TerraformNotFoundError(
        f"{BINARY_ENV_VAR}={value!r} is not an executable file or a command on PATH"
    )


def binary_version(
    binary: Path, *, env: Mapping[str, str] | None = None, timeout: float = VERSION_TIMEOUT_S
) -> TerraformVersion:
    """Ask the binary for its version: `-version -json` when supported (>= 0.13), else text."""
    run_env = {**os.environ, **(env or {}), "CHECKPOINT_DISABLE": "1"}
    json_out = _capture([str(binary), "-version", "-json"], env=run_env, timeout=timeout)
    parsed = _parse_json_version(binary, json_out)
    if parsed is not None:
        return parsed
    text_out = _capture([str(binary), "-version"], env=run_env, timeout=timeout)
    return parse_version_text(binary, text_out)


def _capture(args: list[str], *, env: Mapping[str, str], timeout: float) -> str:
    try:
        proc = subprocess.run(
            args,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TerraformNotFoundError(f"could not run {args[0]!r}: {exc}") from exc
    return proc.stdout


def _parse_json_version(binary: Path, stdout: str) -> TerraformVersion | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("terraform_version"), str):
        return None
    # OpenTofu keeps the "terraform_version" key, so the product comes from the name.
    product = "opentofu" if "tofu" in binary.name.lower() else "terraform"
    return TerraformVersion(binary, product, data["terraform_version"], data.get("platform"))


def parse_version_text(binary: Path, text: str) -> TerraformVersion:
    match = _VERSION_LINE.search(text)
    if match is None:
        raise TerraformNotFoundError(f"{binary} did not report a Terraform/OpenTofu version")
    platform = _PLATFORM_LINE.search(text)
    product = "opentofu" if match.group(1) == "OpenTofu" else "terraform"
    return TerraformVersion(
        binary, product, match.group(2), platform.group(1) if platform else None
    )
