import infrar_native.storage as s

everything = s.list_objects("photos")
also_everything = s.list_objects("photos", prefix="")
url = s.generate_signed_url("photos", "cat.jpg")
s.upload("photos", "cat.jpg", "cat.jpg")
s.write("photos", "notes.txt", b"hi", content_type=None)
