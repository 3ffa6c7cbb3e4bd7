"""Pushing a built image by digest to a registry (a fake of the OCI distribution API on
loopback): the reference returned names the manifest the registry holds, the login's password
reaches the registry through buildah and never shows in what is printed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from registry_fake import FakeRegistry

from infrar.engine.buildah import (
    Buildah,
    BuildahError,
    BuiltImage,
    RegistryCredentials,
    push,
)
from infrar.engine.images import ImageContext

PASSWORD = "token-for-the-registry-7f3a"


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry(username="AWS", password=PASSWORD).start()
    yield fake
    fake.stop()


def test_push_returns_the_digest_of_the_manifest_the_registry_holds(
        buildah: Buildah, local_image: tuple[ImageContext, BuiltImage],
        registry: FakeRegistry) -> None:
    lines: list[str] = []
    repository = f"{registry.host}/shop/api"
    reference = push(buildah, local_image[1].image_id, repository, tag="build-1",
                     credentials=RegistryCredentials("AWS", PASSWORD), on_line=lines.append)
    digest = registry.digest_of("shop/api", "build-1")
    assert digest is not None
    assert reference == f"{repository}@{digest}"
    manifest = registry.manifest(digest)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    layers = manifest["layers"]
    assert isinstance(layers, list) and layers
    assert all(layer["digest"] in registry.stored.blobs for layer in layers)
    assert registry.stored.logins
    assert PASSWORD not in "\n".join(lines)


def test_a_push_the_registry_refuses_fails_with_buildahs_reason(
        buildah: Buildah, local_image: tuple[ImageContext, BuiltImage],
        registry: FakeRegistry) -> None:
    with pytest.raises(BuildahError) as raised:
        push(buildah, local_image[1].image_id, f"{registry.host}/shop/api", tag="build-2",
             credentials=RegistryCredentials("AWS", "a-wrong-password"))
    assert "buildah push failed" in str(raised.value)
    assert "a-wrong-password" not in str(raised.value)
    assert registry.digest_of("shop/api", "build-2") is None
