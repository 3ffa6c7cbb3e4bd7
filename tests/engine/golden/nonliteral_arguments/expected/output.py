import json

import infrar_native.storage as s

BUCKET = "data"
config = {"bucket": BUCKET}
user, name, keys, payload, text = "ana", "report", ["a", "b"], {}, True
s.write(config["bucket"], f"{user}/{name}.json", json.dumps(payload).encode())
s.read(BUCKET if text else "other", keys[-1])
s.write(BUCKET, (key := f"{user}.txt"), b"")
s.write(BUCKET, key, b"", content_type=(kind := "text/plain"))
s.upload(BUCKET, name, key, content_type="text/plain" if text else None, metadata=dict(payload))
s.list_objects(BUCKET, name + "/", max_results=len(keys) or None)
s.copy(BUCKET, keys[0], keys[1].upper(), destination_bucket=config.get("backup"))
s.exists(BUCKET, not text and "k" or "j")


def gen():
    s.write(BUCKET, "sent", (yield))
