import infrar_native.storage as s

s.upload("photos", "cat.jpg", "2024/cat.jpg")
s.download("photos", "2024/cat.jpg", "copy.jpg")
s.write("photos", "notes.txt", "hello")
s.copy("photos", "2024/cat.jpg", "2024/cat-copy.jpg")
keys = s.list_objects("photos", "2024/")
s.delete("photos", "2024/cat-copy.jpg")
