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
from infrar.engine.infra.generate import init_inputs
from infrar.engine.terraform.init_cache import InitCache
from infrar.engine.terraform.init_cache import key_of as init_cache_key
from infrar.engine.terraform.runner import (
    LOCK_FILE,
    OutputCallback,
    StalePlanError,
    digest_path,
)

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
                   on_output: OutputCallback | None = None,
                   init_cache: InitCache | None = None) -> PlannedArchive:
    """With `init_cache`, a generated directory whose providers, modules and backend an
    earlier plan initialised skips `terraform init`."""
    shutil.copytree(config_dir, workdir, dirs_exist_ok=True)
    if state is not None:
        (workdir / STATE_FILE).write_bytes(state)
    inputs = init_inputs(workdir) if init_cache is not None else None
    key = init_cache_key(inputs, env=env) if inputs is not None else None
    result = _init_and_plan(workdir, env=env, secrets=secrets, on_output=on_output,
                            cache=init_cache if key else None, key=key or "")
    shown = tf.show_json(result.plan_file, workdir=workdir, env=env)
    cost = cost_of(shown) if cost_of else None
    return PlannedArchive(result.digest.sha256, _archive(workdir), tf.summarize_plan(shown),
                          result.has_changes, cost, shown)


def _init_and_plan(workdir: Path, *, env: Mapping[str, str], secrets: list[str],
                   on_output: OutputCallback | None, cache: InitCache | None,
                   key: str) -> tf.PlanResult:
    def plan() -> tf.PlanResult:
        return tf.plan(workdir, plan_file=workdir / PLAN_FILE, env=env, secrets=secrets,
                       on_output=on_output)

    def init() -> None:
        tf.init(workdir, env=env, secrets=secrets, on_output=on_output)
        if cache is not None:
            cache.keep(key, workdir)

    if cache is None or not cache.restore(key, workdir):
        init()
        return plan()
    if on_output is not None:
        on_output("Terraform's working directory is the one an earlier init prepared for the "
                  "same providers, modules and backend; terraform init was skipped.")
    try:
        return plan()
    except tf.TerraformTimeoutError:
        raise
    except tf.TerraformError:
        # Terraform refuses a working directory that does not fit; a fresh one decides.
        cache.forget(key)
        shutil.rmtree(workdir / ".terraform", ignore_errors=True)
        (workdir / LOCK_FILE).unlink(missing_ok=True)
        if on_output is not None:
            on_output("The plan failed; planning again after a fresh terraform init.")
        init()
        return plan()


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
