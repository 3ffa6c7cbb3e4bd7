"""A star import may bind any public name, builtins included (os exports `open`)."""
from os import *

import infrar_native.storage as storage

storage.upload("b", "local.txt", "remote.txt")
