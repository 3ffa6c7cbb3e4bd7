"""A gallery that imports the SDK in several ways, and re-exports it with `*`."""

from .shelf import *  # noqa: F403
from .shelf import __all__ as _shelf_names

__all__ = list(_shelf_names)
