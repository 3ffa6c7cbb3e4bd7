import infrar_native.storage as s

line = f"{s.read('b', 'k')!r}"
padded = f"{len(s.list_objects('b')):>5} keys"
size = f"size={s.get_metadata('b', 'k').size}"
joined = ("first: " f"{s.exists('b', 'k')}"
          f" second: {s.exists('b', 'k2')}")
block = f"""
{s.read('b', 'k')}
"""
spec = f"{1:{s.read('b', 'width').decode()}}"
