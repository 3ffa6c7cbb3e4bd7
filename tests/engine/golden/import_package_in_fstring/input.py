"""`import infrar.storage` binds `infrar`: its loads are renamed, inside f-strings too."""
import infrar.storage

line = f"{infrar.storage.read('b', 'k')!r}"
joined = ("first: " f"{infrar.storage.exists('b', 'k')}"
          f" second: {infrar.storage.exists('b', 'k2')}")
block = f"""
{infrar.storage.read('b', 'k')} and {  infrar.storage.read('b', 'k')  }
"""
spec = f"{1:{infrar.storage.read('b', 'width').decode()}}"
nested = f"{f'{infrar.storage.read(chr(98), chr(107))}'}"
try:
    pass
except infrar.storage.errors.StorageError:
    pass
name = f"{infrar.storage.errors.StorageError.__name__}"
