import infrar_native.storage as s

x = s.read("b", "k")
