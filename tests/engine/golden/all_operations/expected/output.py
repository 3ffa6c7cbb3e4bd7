from infrar_native import storage

BUCKET = "assets"

storage.upload(BUCKET, "a.txt", "a.txt")
storage.download(BUCKET, "a.txt", "a-copy.txt")
storage.write(BUCKET, "b.txt", "text")
content = storage.read(BUCKET, "b.txt")
storage.delete(BUCKET, "b.txt")
present = storage.exists(BUCKET, "a.txt")
keys = storage.list_objects(BUCKET, "a")
storage.copy(BUCKET, "a.txt", "c.txt")
info = storage.get_metadata(BUCKET, "a.txt")
link = storage.generate_signed_url(BUCKET, "a.txt", expires_in=600)
