"""SDK capabilities (`infrar.storage`, ...): their signatures, classes and portable code.

The SDK module itself is the source of truth for signatures; `portable.yaml` beside it holds
the provider-independent code (exception classes, value types) that transformed modules carry.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from infrar.engine.diagnostics import EngineError
from infrar.engine.rules import Block, parse_block
from infrar.engine.schema import schema_errors
from infrar.engine.yamlio import YamlError, load_yaml

PACKAGE = "infrar"


@dataclass(frozen=True)
class Capability:
    name: str
    module: ModuleType
    functions: dict[str, Callable[..., Any]]
    classes: dict[str, type]
    resources: dict[str, str]
    symbol_blocks: dict[str, str]
    blocks: dict[str, Block]

    @property
    def qualname(self) -> str:
        return f"{PACKAGE}.{self.name}"

    def signature(self, operation: str) -> inspect.Signature:
        return inspect.signature(self.functions[operation])


@cache  # the installed SDK's folders; asked for every analysed module
def known_capabilities() -> list[str]:
    root = Path(importlib.import_module(PACKAGE).__file__ or "").parent
    return sorted(p.parent.name for p in root.glob("*/portable.yaml"))


@cache
def load_capability(name: str) -> Capability:
    try:
        module = importlib.import_module(f"{PACKAGE}.{name}")
    except ImportError:
        raise EngineError(f"unknown capability {name!r}") from None
    portable = Path(module.__file__ or "").parent / "portable.yaml"
    try:
        doc = load_yaml(portable, cache=False)
    except (OSError, YamlError) as exc:
        raise EngineError(str(exc)) from None
    errors = schema_errors(doc, "capability")
    if errors:
        raise EngineError("\n".join(errors))
    public = [getattr(module, n) for n in module.__all__]
    return Capability(
        name=name,
        module=module,
        functions={f.__name__: f for f in public if inspect.isfunction(f)},
        classes={c.__name__: c for c in public if inspect.isclass(c)},
        resources=dict(doc.data["resources"]),
        symbol_blocks=dict(doc.data["symbols"]),
        blocks={n: parse_block(n, b) for n, b in doc.data["blocks"].items()},
    )


def symbol_table() -> dict[str, tuple[Capability, str]]:
    """Qualified name -> (capability, public name), for every SDK function and class,
    under the capability module and under the module that defines it."""
    table: dict[str, tuple[Capability, str]] = {}
    for name in known_capabilities():
        cap = load_capability(name)
        for public in [*cap.functions, *cap.classes]:
            table[f"{cap.qualname}.{public}"] = (cap, public)
        for cls_name, cls in cap.classes.items():
            table[f"{cls.__module__}.{cls_name}"] = (cap, cls_name)
    return table


def module_names() -> set[str]:
    """Qualified names that denote SDK modules (the package, capabilities, their submodules)."""
    names = {PACKAGE}
    for name in known_capabilities():
        cap = load_capability(name)
        names.add(cap.qualname)
        names.update(cls.__module__ for cls in cap.classes.values())
    return names
