import infrar_native.storage as s

a, b = s.read("b", "1"), s.read("b", "2"); s.delete("b", "1"); s.delete("b", "2")
if s.exists("b", "x"): s.write("b", "y", s.read("b", "x"))
