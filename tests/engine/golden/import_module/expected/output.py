import infrar_native.storage


def save_report(data):
    infrar_native.storage.write("reports", "latest.json", data)
    return infrar_native.storage.exists("reports", "latest.json")
