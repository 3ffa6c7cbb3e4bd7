from infrar_native import storage


def save_report(data):
    storage.write("reports", "latest.json", data)
    return storage.exists("reports", "latest.json")
