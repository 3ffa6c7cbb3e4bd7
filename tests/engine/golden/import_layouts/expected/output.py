"""Imports written over several lines, with comments and continuations."""
import json, infrar_native.storage as s, os  # three modules on one line
from infrar_native.storage import (  # the names this module uses
    read,
    # write is used below
    write as put,
)
from infrar_native.storage \
    import exists
from  infrar_native.storage  import  delete as  remove

if exists("b", "k"):
    put("b", "k", json.dumps({"path": os.sep}))
    remove("b", "old")
print(read("b", "k"), s.list_objects("b"))
