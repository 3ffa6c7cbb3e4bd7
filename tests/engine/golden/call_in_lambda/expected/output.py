import infrar_native.storage as s

fetch = lambda key: s.read("b", key)
ordered = sorted(["a", "b"], key=lambda k: s.get_metadata("b", k).size)
later = lambda: s.exists("b", "k") or s.write("b", "k", b"")
