from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulators import EmulatorError, GcsEmulator
from runner import make_blocker, until_stopped

# gcp-storage-emulator serialises its entire state to indented JSON (the pure-Python encoder)
# after every write, even in memory, so each write gets slower as objects accumulate: the
# 1,050 writes of the listing program take ~20s. The in-memory store never reads that JSON
# back, so skipping it changes nothing but the speed.
_FAST_GCS = (
    "import sys\n"
    "from gcp_storage_emulator import storage\n"
    "storage.Storage._write_config_to_file = lambda self: None\n"
    "from gcp_storage_emulator.__main__ import main\n"
    "main(sys.argv[1:])\n"
)


class FastGcsEmulator(GcsEmulator):
    def command(self, port: int, workdir: Path) -> list[str]:
        server = super().command(port, workdir)
        module = [sys.executable, "-m", "gcp_storage_emulator"]
        assert server[: len(module)] == module, server
        return [sys.executable, "-c", _FAST_GCS, *server[len(module):]]


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    """The shared GCS emulator fixture, started without its per-write state dump."""
    emulator = FastGcsEmulator()
    try:
        emulator.start()
    except EmulatorError as exc:
        pytest.skip(f"emulator unavailable: {exc}")
    yield from until_stopped(emulator)


@pytest.fixture(scope="session")
def blocker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `infrar` package refuses to import; first on PYTHONPATH, it hides ours."""
    return make_blocker(tmp_path_factory.mktemp("blocker"))
