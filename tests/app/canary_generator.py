"""A Terraform generator for the canary test (INFRAR_GENERATOR=canary_generator): the engine's
own for `local`, plus a variable `canary` that Terraform fills from the credential
`TF_VAR_canary`. In `production` it ends in the state as a sensitive output; in `staging` it
makes the plan fail with an error message that quotes it, so redaction is exercised."""

from __future__ import annotations

from pathlib import Path

from infrar.app.workflow import engine_generator
from infrar.app.workflow.generation import Generated
from infrar.engine.config import Target

FAILING_ENVIRONMENT = "staging"


def generate(*, source_root: Path, target: Target, out_dir: Path, cache_root: Path) -> Generated:
    generated = engine_generator.generate(source_root=source_root, target=target,
                                          out_dir=out_dir, cache_root=cache_root)
    if target.environment == FAILING_ENVIRONMENT:
        echo = 'output "echo" {\n  value = tonumber(var.canary)\n}\n'
    else:
        echo = 'output "echo" {\n  value     = var.canary\n  sensitive = true\n}\n'
    (out_dir / "canary.tf").write_text(
        'variable "canary" {\n  type = string\n}\n\n' + echo, encoding="utf-8")
    return generated


def terraform_env(*, provider: str, cache_root: Path) -> dict[str, str]:
    return engine_generator.terraform_env(provider=provider, cache_root=cache_root)
