"""The default generator: the engine's Terraform generation and cost estimate."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infrar.app.workflow.generation import Generated
from infrar.engine.config import Target
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.compute import rights_from_code, services_review
from infrar.engine.infra.cost import estimate
from infrar.engine.infra.generate import generate_paths, write_generated
from infrar.engine.infra.runs import terraform_environment


def generate(*, source_root: Path, target: Target, out_dir: Path, cache_root: Path) -> Generated:
    paths = [source_root / p for p in target.config.paths] or [source_root]
    project_dir = Path(os.path.relpath(source_root.resolve(), out_dir.resolve())).as_posix()
    result = generate_paths(paths, target=target, project_dir=project_dir)
    diagnostics = tuple(_in_project(d, source_root) for d in result.diagnostics)
    if any(d.severity == "error" for d in diagnostics):
        return Generated(diagnostics)
    write_generated(out_dir, result.files)
    pricing = result.plugin.pricing

    def cost_of(plan: Mapping[str, Any]) -> str:
        return estimate(plan, pricing).brief

    rights = result.services or rights_from_code(paths, target)
    services = services_review(rights, provider=target.provider,
                               deployed=result.plugin.compute is not None)
    return Generated(diagnostics, terraform_env(provider=target.provider,
                                                cache_root=cache_root), cost_of, services)


def _in_project(diagnostic: Diagnostic, root: Path) -> Diagnostic:
    """The diagnostic with its path relative to the project folder, where it is inside it
    (the engine shows paths relative to the working directory, else absolute)."""
    located = Path(os.path.normpath(Path.cwd() / diagnostic.path))
    for base in dict.fromkeys((root, root.resolve())):
        if located.is_relative_to(base):
            return dataclasses.replace(diagnostic, path=located.relative_to(base).as_posix())
    return diagnostic


def terraform_env(*, provider: str, cache_root: Path) -> dict[str, str]:
    """Offline through the packaged mirror when the provider needs only mirrored providers."""
    return terraform_environment(load_plugin(provider).provider_sources,
                                 project_root=cache_root, environ=os.environ)
