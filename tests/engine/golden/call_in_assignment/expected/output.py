import infrar_native.storage as s

data = s.read("b", "k")
size: int = len(s.read("b", "k"))
first, second = s.read("b", "1"), s.read("b", "2")
total = 0
total += len(s.read("b", "k"))
a = b = s.exists("b", "k")
config = {"flag": s.exists("b", "flag")}
config["data"] = s.read("b", "data")
