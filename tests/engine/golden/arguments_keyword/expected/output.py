import infrar_native.storage as s

s.upload(bucket="photos", source="cat.jpg", destination="cat.jpg",
         content_type="image/jpeg", metadata={"owner": "ana"})
data = s.read(key="cat.jpg", bucket="photos")
s.write("photos", "notes.txt", b"hi", metadata={"kind": "note"})
keys = s.list_objects("photos", max_results=10)
s.copy("photos", "cat.jpg", "cat.jpg", destination_bucket="backup")
url = s.generate_signed_url("photos", "cat.jpg", method="PUT", expires_in=60)
