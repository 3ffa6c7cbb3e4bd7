import infrar_native.storage as s


def save_report(data):
    s.write("reports", "latest.json", data)
    return s.exists("reports", "latest.json")
