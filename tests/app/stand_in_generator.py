"""A Terraform generator for the App tests (INFRAR_GENERATOR=stand_in_generator): the engine's
own for `local`; for a cloud provider, whose Terraform providers are not in the offline mirror,
one null resource named after the environment, so a test can plan every environment of a
multi-cloud project without a registry or cloud credentials."""

from __future__ import annotations

from pathlib import Path

from infrar.app.workflow import engine_generator
from infrar.app.workflow.generation import Generated
from infrar.engine.config import Target

OFFLINE_PROVIDER = "local"


def generate(*, source_root: Path, target: Target, out_dir: Path, cache_root: Path) -> Generated:
    if target.provider == OFFLINE_PROVIDER:
        return engine_generator.generate(source_root=source_root, target=target,
                                         out_dir=out_dir, cache_root=cache_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "main.tf").write_text(
        f'# stands in for the {target.provider} Terraform\n'
        f'resource "null_resource" "{target.environment}" {{}}\n', encoding="utf-8")
    return Generated(terraform_env=terraform_env(provider=target.provider,
                                                 cache_root=cache_root))


def terraform_env(*, provider: str, cache_root: Path) -> dict[str, str]:
    return engine_generator.terraform_env(provider=OFFLINE_PROVIDER, cache_root=cache_root)
