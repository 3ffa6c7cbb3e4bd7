from infrar_native.storage import read, upload as up


def publish(path):
    up("site", path, "index.html", content_type="text/html")
    return read("site", "index.html")
