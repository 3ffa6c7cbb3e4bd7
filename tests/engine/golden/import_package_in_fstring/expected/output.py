"""`import infrar.storage` binds `infrar`: its loads are renamed, inside f-strings too."""
import infrar_native.storage

line = f"{infrar_native.storage.read('b', 'k')!r}"
joined = ("first: " f"{infrar_native.storage.exists('b', 'k')}"
          f" second: {infrar_native.storage.exists('b', 'k2')}")
block = f"""
{infrar_native.storage.read('b', 'k')} and {  infrar_native.storage.read('b', 'k')  }
"""
spec = f"{1:{infrar_native.storage.read('b', 'width').decode()}}"
nested = f"{f'{infrar_native.storage.read(chr(98), chr(107))}'}"
try:
    pass
except infrar_native.storage.StorageError:
    pass
name = f"{infrar_native.storage.StorageError.__name__}"
