import infrar_native.storage as s

keys = ["a", "b"]
blobs = [s.read("b", key) for key in keys]
present = {key for key in keys if s.exists("b", key)}
sizes = {key: len(s.read("b", key)) for key in keys}
total = sum(len(s.read("b", key)) for key in s.list_objects("b"))
nested = [[s.read(bucket, key) for key in keys] for bucket in ("x", "y")]
