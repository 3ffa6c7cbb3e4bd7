import os
import pathlib
from urllib.parse import quote

import infrar_native.storage as s


def _infrar_read(path):
    return pathlib.Path(path).read_bytes()


quote = quote("a b")
data = s.read("b", os.environ.get("KEY", "k")) + _infrar_read("local.bin")
