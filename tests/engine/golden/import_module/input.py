import infrar.storage


def save_report(data):
    infrar.storage.write("reports", "latest.json", data)
    return infrar.storage.exists("reports", "latest.json")
