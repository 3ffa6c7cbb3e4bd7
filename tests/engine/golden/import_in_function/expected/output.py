"""Imports of the SDK inside functions are scoped to those functions."""


def load(key):
    import infrar_native.storage as s
    return s.read("cache", key)


def store(key, value):
    from infrar_native.storage import write
    write("cache", key, value)


def unrelated(s, write):
    # Here `s` and `write` are parameters, not the SDK: they stay as they are.
    write(s.read())
