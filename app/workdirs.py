"""Work folders: each App process checks out, plans and applies under a folder of its own, named
`<host>-<pid>` in the `work` folder of INFRAR_DATA_DIR, removed when a job ends. A process
killed mid-job (kill -9, a crash, a lost machine) leaves its folder behind, holding a checkout
and an opened plan archive (resource names, variable values) in clear; the next App process to
start on the same host removes the folders of processes that no longer run."""

from __future__ import annotations

import logging
import os
import shutil
import socket
from pathlib import Path

log = logging.getLogger(__name__)


def _host() -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in socket.gethostname())[:60]


def own(data_dir: Path) -> Path:
    return data_dir / "work" / f"{_host()}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(data_dir: Path) -> list[Path]:
    """Remove work folders left by processes of this host that are gone; the ones removed."""
    root = data_dir / "work"
    if not root.is_dir():
        return []
    removed, prefix = [], f"{_host()}-"
    for folder in root.iterdir():
        name = folder.name
        if not folder.is_dir() or folder.is_symlink() or not name.startswith(prefix):
            continue
        pid = name[len(prefix):]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed the work folder %s left by a process that stopped", name)
        removed.append(folder)
    return removed
