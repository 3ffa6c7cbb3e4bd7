import infrar_native


def publish(path):
    infrar_native.storage.upload("site", path, "index.html")
    return infrar_native.storage.read("site", "index.html")
