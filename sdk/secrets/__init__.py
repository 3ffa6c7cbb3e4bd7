"""Secrets, written once, run anywhere.

Import-time cost is the standard library only. The provider is chosen at call time by
`INFRAR_PROVIDER` (`local` by default); every provider runs the very native code that
`infrar transform` would write into your module.

Names are 1 to 127 lowercase letters, digits and hyphens, starting and ending with a letter
or digit. Values are text of 1 to 25,000 bytes in UTF-8: the smallest limit of the services
behind this module (Azure Key Vault's). A value never appears in an exception message.
"""

from __future__ import annotations

from typing import Any

from infrar.secrets.errors import SecretNotFoundError, SecretsError

__all__ = [
    "get_secret",
    "set_secret",
    "SecretsError",
    "SecretNotFoundError",
]


def _native(operation: str) -> Any:
    from infrar._runtime import native_operation

    return native_operation("secrets", operation)


def get_secret(name: str, *, version: str | None = None) -> str:
    """The value of secret `name`: its latest version, or `version` (the provider's own ID)."""
    result: str = _native("get_secret")(name, version=version)
    return result


def set_secret(name: str, value: str) -> None:
    """Store `value` as the new latest version of the existing secret `name`."""
    _native("set_secret")(name, value)
