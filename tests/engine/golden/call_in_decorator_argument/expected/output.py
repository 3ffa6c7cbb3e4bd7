import functools

import infrar_native.storage as s


@functools.lru_cache(maxsize=len(s.list_objects("cache")))
def expensive(key):
    return key


@register(s.exists("flags", "beta"), name=s.read("flags", "name").decode())
class Feature:
    pass
