try:
    from infrar_native.storage import read, write
except ImportError:  # pragma: no cover - the SDK is a build-time dependency
    raise SystemExit("pip install infrar")

try:
    import infrar_native.storage as storage
    HAVE_STORAGE = True
except ImportError:
    HAVE_STORAGE = False


def roundtrip(key, value):
    write("cache", key, value)
    return read("cache", key) == storage.read("cache", key)
