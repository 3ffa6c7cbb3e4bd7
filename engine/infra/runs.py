"""Plan and apply generated Terraform with engine/terraform: a saved plan, its digest, a summary
with secrets redacted and a cost estimate; apply only that plan, and only while the code still
generates exactly what was planned."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infrar.engine.config import Target
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.infra.cost import CostEstimate, cost_json, estimate, render_cost
from infrar.engine.infra.generate import Generation, generate_paths, write_generated
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
    render_markdown,
    render_text,
    show_json,
    summarize_plan,
)
from infrar.engine.terraform.markdown import code
from infrar.engine.terraform.offline import NULL_PROVIDER_ADDRESS
from infrar.engine.terraform.redaction import redact
from infrar.engine.terraform.runner import digest_path

PLAN_FILE = "infrar.tfplan"
WORK_ROOT = Path(".infrar") / "terraform"
CACHE_DIR = Path(".infrar") / "cache" / "terraform"
_MIRRORED = {NULL_PROVIDER_ADDRESS}
_DEFAULT_REGISTRY = "registry.terraform.io/"


class GenerationFailed(EngineError):
    """The code has errors, so there is no Terraform to run; nothing was written."""

    def __init__(self, generation: Generation) -> None:
        self.diagnostics = generation.diagnostics
        super().__init__("\n".join(str(d) for d in self.errors))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


@dataclass(frozen=True)
class PreparedRun:
    """Generated Terraform, the folder it runs in and the environment it runs with."""

    generation: Generation
    workdir: Path
    env: dict[str, str]


@dataclass(frozen=True)
class PlanOutcome:
    workdir: Path
    result: PlanResult
    summary: PlanSummary
    cost: CostEstimate
    diagnostics: tuple[Diagnostic, ...] = ()
    """The generation's warnings (errors stop it before any plan)."""

    @property
    def plan_file(self) -> Path:
        return self.result.plan_file

    @property
    def digest(self) -> str:
        return self.result.digest.sha256

    def text(self, secrets: Iterable[str] = ()) -> str:
        """For a terminal; `secrets` (credentials) are redacted, as in every format."""
        text = (render_text(self.summary) + "\n" + render_cost(self.cost)
                + f"\nSaved plan: {self.plan_file} (digest {self.digest[:16]})\n")
        return redact(text, _forms(secrets))

    def markdown(self, title: str, secrets: Iterable[str] = ()) -> str:
        """For a pull-request comment or a job summary."""
        text = render_markdown(self.summary, title=title, cost=self.cost.brief,
                               diagnostics=[str(d) for d in self.diagnostics])
        return redact(text + f"\nPlan digest: {code(self.digest)}\n", _forms(secrets))

    def as_json(self, secrets: Iterable[str] = ()) -> dict[str, Any]:
        """For programs: counts, each change, the saved plan, the cost, the diagnostics."""
        summary = self.summary
        data = {
            "summary": {"headline": summary.headline, "no_changes": summary.no_changes,
                        "add": summary.add, "change": summary.change,
                        "destroy": summary.destroy},
            "resources": [
                {"address": r.address, "type": r.type, "mode": r.mode, "action": r.action,
                 "actions": list(r.actions),
                 "changes": [dataclasses.asdict(a) for a in r.attributes]}
                for r in summary.resources],
            "outputs": [dataclasses.asdict(o) for o in summary.outputs],
            "plan": {"file": str(self.plan_file), "digest": self.digest},
            "cost": cost_json(self.cost),
            "diagnostics": [dataclasses.asdict(d) for d in self.diagnostics],
            "terraform_version": summary.terraform_version,
        }
        redacted: dict[str, Any] = _redacted(data, _forms(secrets))
        return redacted


def _forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Each secret as given and as the summary shows values (inside a JSON string)."""
    return tuple({form for secret in secrets
                  for form in (secret, json.dumps(secret, ensure_ascii=False)[1:-1])})


def _redacted(value: Any, secrets: tuple[str, ...]) -> Any:
    # Each string on its own, before it is written as JSON, which would escape it further.
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _redacted(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, secrets) for item in value]
    return value


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


def prepare_run(target: Target, paths: list[Path], *, environ: Mapping[str, str],
                workdir: Path | None = None) -> PreparedRun:
    """What `infrar plan` and `infrar apply` run Terraform on: the code under `paths`, generated
    for `target` as seen from `workdir` (default: .infrar/terraform/<environment>)."""
    root = target.config.root.resolve()
    workdir = (workdir or default_workdir(root, target.environment)).resolve()
    generation = generate_paths(paths, target=target,
                                project_dir=Path(os.path.relpath(root, workdir)).as_posix())
    if not generation.ok:
        raise GenerationFailed(generation)
    env = terraform_environment(generation.plugin.provider_sources, project_root=root,
                                environ=environ)
    return PreparedRun(generation, workdir, env)


def run_plan(generation: Generation, *, workdir: Path, env: Mapping[str, str],
             secrets: tuple[str, ...] = ()) -> PlanOutcome:
    """Write the generated files into `workdir`, init, plan into a saved plan, summarise."""
    write_generated(workdir, generation.files)
    init(workdir, env=env, secrets=secrets)
    result = plan(workdir, plan_file=workdir / PLAN_FILE, env=env, secrets=secrets)
    shown = show_json(result.plan_file, workdir=workdir, env=env)
    return PlanOutcome(workdir, result, summarize_plan(shown),
                       estimate(shown, generation.plugin.pricing), tuple(generation.warnings))


def changed_files(workdir: Path, files: dict[str, bytes]) -> list[str]:
    """Generated files that differ from what is in `workdir` (what the plan was made from)."""
    changed = []
    for name, data in files.items():
        path = workdir / name
        if not path.is_file() or path.read_bytes() != data:
            changed.append(name)
    return changed


def run_apply(generation: Generation, *, workdir: Path, env: Mapping[str, str],
              secrets: tuple[str, ...] = (),
              on_output: Callable[[str], None] | None = None) -> ApplyResult:
    """Apply the saved plan, if the code still generates what it was made from; `on_output`
    gets each line of Terraform's output as it comes (secrets redacted)."""
    plan_file = workdir / PLAN_FILE
    if not plan_file.is_file():
        raise StalePlanError(f"no saved plan in {workdir}; run `infrar plan` first")
    changed = changed_files(workdir, generation.files)
    if changed:
        raise StalePlanError(
            f"the code or the provider plugin changed since the plan ({', '.join(changed)}); "
            "run `infrar plan` again and review it", changed_files=changed)
    result = apply(workdir, plan_file=plan_file, env=env, secrets=secrets, on_output=on_output)
    # An applied plan is spent: a second apply must ask for a new, reviewed plan.
    plan_file.unlink(missing_ok=True)
    digest_path(plan_file).unlink(missing_ok=True)
    return result
