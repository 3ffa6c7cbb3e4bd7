"""Windows line endings survive, in the code we add too."""
import infrar_native.storage as s

data = s.read("b", "k")
s.write(
    "b",
    "k2",
    data,
)
