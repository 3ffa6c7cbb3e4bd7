"""Golden files of generated code name the version that generated them; the version comes from
git tags and changes with every commit, so golden comparisons run as a fixed version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrar.engine import native

GOLDEN_VERSION = "0.1.0"


@pytest.fixture(autouse=True)
def fixed_generator_version(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    caches = (native.capability_source, native.rules_digest)
    for cached in caches:
        cached.cache_clear()
    monkeypatch.setattr(native, "__version__", GOLDEN_VERSION)
    yield
    for cached in caches:
        cached.cache_clear()
