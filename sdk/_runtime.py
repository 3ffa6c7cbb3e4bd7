"""Dispatch SDK calls to the provider named by `INFRAR_PROVIDER` (default `local`).

The backend is built on first use from the provider's rules, so importing the SDK costs only
the standard library, and the code that runs is the code `infrar transform` would write.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

PROVIDER_VARIABLE = "INFRAR_PROVIDER"
DEFAULT_PROVIDER = "local"

_backends: dict[tuple[str, str], dict[str, Callable[..., Any]]] = {}
_lock = threading.Lock()


def current_provider() -> str:
    return os.environ.get(PROVIDER_VARIABLE) or DEFAULT_PROVIDER


def native_operation(capability: str, operation: str) -> Callable[..., Any]:
    key = (capability, current_provider())
    backend = _backends.get(key)
    if backend is None:
        with _lock:
            backend = _backends.get(key)
            if backend is None:
                from infrar.engine.runtime import build_runtime

                backend = _backends[key] = build_runtime(capability, key[1])
    return backend[operation]
