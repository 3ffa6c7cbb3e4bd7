from __future__ import annotations

import os
from pathlib import Path

from infrar.engine.terraform import BINARY_ENV_VAR, find_packaged_terraform
from infrar.engine.terraform.offline import host_platform, offline_environment


def test_offline_environment_is_idempotent(tf_env: dict[str, str], tmp_path: Path) -> None:
    first = offline_environment(tmp_path)
    config = Path(first["TF_CLI_CONFIG_FILE"])
    stamp = config.stat().st_mtime_ns
    assert offline_environment(tmp_path) == first
    assert config.stat().st_mtime_ns == stamp

    provider_dir = tmp_path / "mirror/registry.terraform.io/hashicorp/null/2.1.2" / host_platform()
    (provider,) = provider_dir.iterdir()
    assert provider.name.startswith("terraform-provider-null_v2.1.2")
    assert os.access(provider, os.X_OK)
    text = config.read_text()
    assert "filesystem_mirror" in text and str(tmp_path / "mirror") in text
    assert first["TF_IN_AUTOMATION"] == "1" and first["CHECKPOINT_DISABLE"] == "1"
    assert first[BINARY_ENV_VAR] == str(find_packaged_terraform())


def test_offline_environment_can_leave_binary_choice_alone(
    tf_env: dict[str, str], tmp_path: Path
) -> None:
    assert BINARY_ENV_VAR not in offline_environment(tmp_path, use_packaged_terraform=False)
