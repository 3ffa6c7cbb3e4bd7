import json

import infrar_native.storage as s

print(s.read("b", "k"))
s.write("b", "copy", s.read("b", "k"))
settings = json.loads(s.read("b", s.list_objects("b", "settings/")[0]))
s.write("b", "k2", s.read("b", s.read("b", "pointer").decode()))
