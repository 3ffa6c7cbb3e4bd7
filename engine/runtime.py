"""Build the SDK's backend for one provider: the very module the engine generates, executed."""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any

from infrar.engine.capabilities import load_capability
from infrar.engine.native import RESOLVER, capability_source, module_path


def build_runtime(capability: str, provider: str) -> dict[str, Callable[..., Any]]:
    """Operation name -> a function running the provider's native code.

    The SDK's own exception classes and `ObjectInfo` stand in for the generated ones, and
    resource names are used as written: the SDK knows no environments."""
    cap = load_capability(capability)
    source = capability_source(provider, capability, for_runtime=True)
    filename = f"<infrar native code: {provider} {capability}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"{module_path(capability)}.{provider}",
                                 RESOLVER: _as_written, **cap.classes}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - rules are trusted plugin code
    return {op: namespace[op] for op in cap.functions}


def _as_written(_kind: str, logical: str) -> str:
    return logical
