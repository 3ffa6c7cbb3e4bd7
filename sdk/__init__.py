"""Infrar: write cloud code once, ship native code for the cloud you choose."""

from functools import cache
from typing import TYPE_CHECKING

UNKNOWN_VERSION = "0.0.0+unknown"

if TYPE_CHECKING:
    __version__: str


@cache
def _installed_version() -> str:
    # From the installed metadata, which setuptools-scm derives from the git tags; read on
    # first use, so importing the SDK costs no metadata lookup.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("infrar")
    except PackageNotFoundError:
        return UNKNOWN_VERSION


def __getattr__(name: str) -> object:
    if name == "__version__":
        return _installed_version()
    # `import infrar` then `infrar.storage.upload(...)` must work, as it does after transformation.
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
