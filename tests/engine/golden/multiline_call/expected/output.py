import infrar_native.storage as s

s.upload(
    "photos",
    "cat.jpg",
    "2024/cat.jpg",
    content_type="image/jpeg",
)
data = (
    s.read(
        "photos",
        "2024/cat.jpg",
    )
)
s.write("photos", "long.txt",
        "part one, "
        "part two")
total = len(s.read("photos",
                   "a")) + len(
    s.read("photos", "b"))
