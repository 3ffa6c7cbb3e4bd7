from infrar_native import storage as st


def save_report(data):
    st.write("reports", "latest.json", data)
    return st.exists("reports", "latest.json")
