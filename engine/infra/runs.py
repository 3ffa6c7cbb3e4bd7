"""Plan and apply generated Terraform with engine/terraform: a saved plan, its digest, a summary
with secrets redacted and a cost estimate; apply only that plan, and only while the code still
generates exactly what was planned."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infrar.engine.infra.cost import CostEstimate, estimate, render_cost
from infrar.engine.infra.generate import Generation, write_generated
from infrar.engine.terraform import (
    BINARY_ENV_VAR,
    ApplyResult,
    PlanResult,
    PlanSummary,
    StalePlanError,
    apply,
    find_packaged_terraform,
    init,
    offline_environment,
    plan,
    render_text,
    show_json,
    summarize_plan,
)
from infrar.engine.terraform.offline import NULL_PROVIDER_ADDRESS
from infrar.engine.terraform.runner import digest_path

PLAN_FILE = "infrar.tfplan"
WORK_ROOT = Path(".infrar") / "terraform"
CACHE_DIR = Path(".infrar") / "cache" / "terraform"
_MIRRORED = {NULL_PROVIDER_ADDRESS}
_DEFAULT_REGISTRY = "registry.terraform.io/"


@dataclass(frozen=True)
class PlanOutcome:
    workdir: Path
    result: PlanResult
    summary: PlanSummary
    cost: CostEstimate

    @property
    def plan_file(self) -> Path:
        return self.result.plan_file

    def text(self) -> str:
        return (render_text(self.summary) + "\n" + render_cost(self.cost)
                + f"\nSaved plan: {self.plan_file} (digest {self.result.digest.sha256[:16]})\n")


def default_workdir(project_root: Path, environment: str) -> Path:
    return project_root / WORK_ROOT / environment


def terraform_environment(sources: set[str], *, project_root: Path,
                          environ: Mapping[str, str]) -> dict[str, str]:
    """The environment Terraform needs to run: offline through the packaged mirror when every
    provider the plugin needs is mirrored; otherwise the machine's own Terraform and registry."""
    user_binary = bool(environ.get(BINARY_ENV_VAR)) or _on_path("tofu", environ) \
        or _on_path("terraform", environ)
    packaged = find_packaged_terraform()
    if all(_address(s) in _MIRRORED for s in sources) and packaged is not None:
        return offline_environment(project_root / CACHE_DIR,
                                   use_packaged_terraform=not user_binary)
    if not user_binary and packaged is not None:
        return {BINARY_ENV_VAR: str(packaged)}
    return {}


def _on_path(name: str, environ: Mapping[str, str]) -> bool:
    return shutil.which(name, path=environ.get("PATH")) is not None


def _address(source: str) -> str:
    return source if source.count("/") == 2 else _DEFAULT_REGISTRY + source


def run_plan(generation: Generation, *, workdir: Path, env: Mapping[str, str],
             secrets: tuple[str, ...] = ()) -> PlanOutcome:
    """Write the generated files into `workdir`, init, plan into a saved plan, summarise."""
    write_generated(workdir, generation.files)
    init(workdir, env=env, secrets=secrets)
    result = plan(workdir, plan_file=workdir / PLAN_FILE, env=env, secrets=secrets)
    shown = show_json(result.plan_file, workdir=workdir, env=env)
    return PlanOutcome(workdir, result, summarize_plan(shown),
                       estimate(shown, generation.plugin.pricing))


def changed_files(workdir: Path, files: dict[str, bytes]) -> list[str]:
    """Generated files that differ from what is in `workdir` (what the plan was made from)."""
    changed = []
    for name, data in files.items():
        path = workdir / name
        if not path.is_file() or path.read_bytes() != data:
            changed.append(name)
    return changed


def run_apply(generation: Generation, *, workdir: Path, env: Mapping[str, str],
              secrets: tuple[str, ...] = ()) -> ApplyResult:
    """Apply the saved plan, if the code still generates what it was made from."""
    plan_file = workdir / PLAN_FILE
    if not plan_file.is_file():
        raise StalePlanError(f"no saved plan in {workdir}; run `infrar plan` first")
    changed = changed_files(workdir, generation.files)
    if changed:
        raise StalePlanError(
            f"the code or the provider plugin changed since the plan ({', '.join(changed)}); "
            "run `infrar plan` again and review it", changed_files=changed)
    result = apply(workdir, plan_file=plan_file, env=env, secrets=secrets)
    # An applied plan is spent: a second apply must ask for a new, reviewed plan.
    plan_file.unlink(missing_ok=True)
    digest_path(plan_file).unlink(missing_ok=True)
    return result
