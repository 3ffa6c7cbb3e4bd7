import infrar_native.storage as s


def load(key):
    return s.read("b", key)


def load_if_present(key):
    return s.exists("b", key) and s.read("b", key)


def pair(key):
    return s.read("b", key), s.get_metadata("b", key)
