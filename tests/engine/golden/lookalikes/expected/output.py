"""Mentions of infrar that are not the SDK stay exactly as written."""
import infrared
import my_infrar.storage as storage
from infrared import storage as st
from .infrar import storage as relative

infrared.storage.upload("b", "s", "d")
storage.read("b", "k")
st.write("b", "k", b"")
relative.delete("b", "k")
my_infrar = "infrar.storage.upload"
# infrar.storage.read("b", "k") in a comment
