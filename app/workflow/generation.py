"""The port to Terraform generation.

The App needs two functions from a generator module: `generate` writes the Terraform root
module a checkout needs into `out_dir` and says what went wrong, which environment Terraform
needs and how to price a plan; `terraform_env` gives Terraform's environment again at apply
time, on whichever worker applies. `INFRAR_GENERATOR` names the module; the engine's own
generator is the default.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from infrar.engine.config import Target
from infrar.engine.diagnostics import Diagnostic

GENERATOR_VARIABLE = "INFRAR_GENERATOR"
DEFAULT_GENERATOR = "infrar.app.workflow.engine_generator"


@dataclass(frozen=True)
class Generated:
    diagnostics: tuple[Diagnostic, ...] = ()
    """What went wrong (errors) and what to look at (warnings), each where it is: paths
    relative to the project folder (`source_root`)."""
    terraform_env: Mapping[str, str] = field(default_factory=dict)
    cost_of: Callable[[Mapping[str, Any]], str] | None = None
    """Plan JSON -> a one-line cost estimate."""
    services: str = ""
    """Markdown for the review: the services, their images and the rights each one gets."""

    @property
    def errors(self) -> tuple[str, ...]:
        """The errors as text (`file:line:col: error: message [code]`)."""
        return tuple(str(d) for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(str(d) for d in self.diagnostics if d.severity != "error")


class Generator(Protocol):
    def generate(self, *, source_root: Path, target: Target, out_dir: Path,
                 cache_root: Path) -> Generated: ...

    def terraform_env(self, *, provider: str, cache_root: Path) -> dict[str, str]: ...


class GenerationUnavailable(RuntimeError):
    pass


def load_generator(spec: str | None = None) -> Generator:
    spec = spec or os.environ.get(GENERATOR_VARIABLE) or DEFAULT_GENERATOR
    try:
        module = importlib.import_module(spec)
    except ImportError as exc:
        raise GenerationUnavailable(f"cannot load the generator {spec!r}: {exc}") from None
    missing = [f for f in ("generate", "terraform_env") if not hasattr(module, f)]
    if missing:
        raise GenerationUnavailable(f"the generator {spec!r} lacks {', '.join(missing)}")
    return cast(Generator, module)
