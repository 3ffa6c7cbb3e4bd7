"""Infrar: write cloud code once, ship native code for the cloud you choose."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # `import infrar` then `infrar.storage.upload(...)` must work, as it does after transformation.
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
