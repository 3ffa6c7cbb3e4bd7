from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeVar

import pytest

from emulators import AzuriteBlob, Emulator, EmulatorError, GcsEmulator, MotoS3

E = TypeVar("E", bound=Emulator)


def _running(emulator: E) -> Iterator[E]:
    try:
        emulator.start()
    except EmulatorError as exc:
        error = str(exc)
    else:
        error = ""
    if error and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(error, pytrace=False)
    if error:
        pytest.skip(f"emulator unavailable: {error}")
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    yield from _running(MotoS3())


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    yield from _running(GcsEmulator())


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteBlob]:
    yield from _running(AzuriteBlob())
