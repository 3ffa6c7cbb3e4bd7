import infrar.storage as s

x = s.read("b", "k")
