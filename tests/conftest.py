from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeVar

import pytest
from emulators import (
    AzuriteBlob,
    AzuriteQueue,
    AzuriteTable,
    Emulator,
    EmulatorError,
    FirestoreEmulator,
    GcsEmulator,
    MotoS3,
    PubSubEmulator,
)

E = TypeVar("E", bound=Emulator)


def _running(emulator: E) -> Iterator[E]:
    try:
        emulator.start()
    except EmulatorError as exc:
        error = str(exc)
    else:
        error = ""
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


@pytest.fixture(scope="session")
def azurite_queue() -> Iterator[AzuriteQueue]:
    yield from _running(AzuriteQueue())


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[PubSubEmulator]:
    yield from _running(PubSubEmulator())


@pytest.fixture(scope="session")
def azurite_table() -> Iterator[AzuriteTable]:
    yield from _running(AzuriteTable())


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    yield from _running(FirestoreEmulator())


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # In CI every prerequisite is installed by the set-up, so a skip means a missing install
    # step: it must fail rather than pass unnoticed.
    outcome = yield
    report = outcome.get_result()
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"
