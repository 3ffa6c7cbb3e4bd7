"""Work folders: one per process; a starting process removes those of stopped processes on its
host, and only those."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infrar.app import workdirs


def test_sweep_removes_only_folders_of_stopped_processes(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    own = workdirs.own(tmp_path)
    host = own.name.rsplit("-", 1)[0]
    folders = {
        "own": own,
        "stopped": tmp_path / "work" / f"{host}-{gone}",
        "parent (alive)": tmp_path / "work" / f"{host}-{os.getppid()}",
        "other host": tmp_path / "work" / f"elsewhere.example-{gone}",
        "not ours": tmp_path / "work" / "notes",
    }
    for folder in folders.values():
        (folder / "plan-x").mkdir(parents=True)
        (folder / "plan-x" / "infrar.tfplan").write_bytes(b"plan")
    assert workdirs.sweep(tmp_path) == [folders["stopped"]]
    assert {name for name, folder in folders.items() if folder.exists()} == {
        "own", "parent (alive)", "other host", "not ours"}
    assert workdirs.sweep(tmp_path / "nothing-here") == []
