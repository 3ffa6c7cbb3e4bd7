import infrar_native.storage as s

título = "café"; datos = s.read("bücket", "ключ"); otro = s.exists("b", "日本語")
msg = "ça va?" + s.read("b", f"{título}/ü").decode()
emoji = "🚀🚀"; s.write("b", "🚀", emoji)
