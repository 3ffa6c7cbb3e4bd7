"""Plan a generated Terraform directory into a portable archive, and apply such an archive.

The archive (configuration, lock file, saved plan and its digest; not `.terraform/`) lives in
the database, sealed, so any worker can apply what any other worker planned. Local-backend
state is restored before and saved after each run.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infrar.engine import terraform as tf
from infrar.engine.terraform.runner import OutputCallback, StalePlanError, digest_path

PLAN_FILE = "infrar.tfplan"
STATE_FILE = "terraform.tfstate"


@dataclass(frozen=True)
class PlannedArchive:
    digest: str
    archive: bytes
    summary: tf.PlanSummary
    has_changes: bool
    cost: str | None
    shown: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """`terraform show -json` of the plan, for the policy checks; it may hold secrets, so it
    stays in memory and is never stored or posted."""


@dataclass(frozen=True)
class Applied:
    output: str
    state: bytes | None


def plan_directory(config_dir: Path, *, workdir: Path, state: bytes | None,
                   env: Mapping[str, str], secrets: list[str],
                   cost_of: Callable[[Mapping[str, Any]], str] | None = None,
                   on_output: OutputCallback | None = None) -> PlannedArchive:
    shutil.copytree(config_dir, workdir, dirs_exist_ok=True)
    if state is not None:
        (workdir / STATE_FILE).write_bytes(state)
    tf.init(workdir, env=env, secrets=secrets, on_output=on_output)
    result = tf.plan(workdir, plan_file=workdir / PLAN_FILE, env=env, secrets=secrets,
                     on_output=on_output)
    shown = tf.show_json(result.plan_file, workdir=workdir, env=env)
    cost = cost_of(shown) if cost_of else None
    return PlannedArchive(result.digest.sha256, _archive(workdir), tf.summarize_plan(shown),
                          result.has_changes, cost, shown)


def apply_archive(archive: bytes, *, expected_digest: str, workdir: Path,
                  state: bytes | None, env: Mapping[str, str], secrets: list[str],
                  on_output: OutputCallback | None = None) -> Applied:
    _extract(archive, workdir)
    if state is not None:
        (workdir / STATE_FILE).write_bytes(state)
    recorded = _recorded_digest(workdir / PLAN_FILE)
    if recorded != expected_digest:
        raise StalePlanError("the stored plan is not the plan that was reviewed; plan again")
    tf.init(workdir, env=env, secrets=secrets, on_output=on_output)
    result = tf.apply(workdir, plan_file=workdir / PLAN_FILE, env=env, secrets=secrets,
                      on_output=on_output)
    state_file = workdir / STATE_FILE
    return Applied(result.output, state_file.read_bytes() if state_file.is_file() else None)


def _recorded_digest(plan_file: Path) -> str:
    import json

    doc = json.loads(digest_path(plan_file).read_text(encoding="utf-8"))
    return str(doc["sha256"])


def _archive(workdir: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(workdir.rglob("*")):
            relative = path.relative_to(workdir)
            if relative.parts[0] == ".terraform" or relative.name == STATE_FILE:
                continue
            if path.is_file() and not path.is_symlink():
                tar.add(path, arcname=relative.as_posix(), recursive=False)
    return buffer.getvalue()


def _extract(archive: bytes, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(workdir, filter="data")


def scratch(base: Path, prefix: str) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
