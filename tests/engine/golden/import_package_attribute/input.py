import infrar


def publish(path):
    infrar.storage.upload("site", path, "index.html")
    return infrar.storage.read("site", "index.html")
