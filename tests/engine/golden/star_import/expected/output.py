from infrar_native.storage import *


def load(key):
    try:
        return read("cache", key)
    except ObjectNotFoundError:
        return None
