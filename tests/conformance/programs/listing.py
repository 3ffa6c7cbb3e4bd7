"""Listing: every page past 1,000 keys, sorted, with prefix and max_results.

Uses the SDK through a module alias: `import infrar.storage as s`.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import infrar.storage as s

BUCKET = os.environ["CONFORMANCE_BUCKET"]
EMPTY_BUCKET = os.environ["CONFORMANCE_BUCKET_2"]
MISSING_BUCKET = os.environ["CONFORMANCE_MISSING_BUCKET"]
MANY = 1050
OTHERS = ["a.txt", "B.txt", "b/one.txt", "b/two.txt", "b-c.txt", "b.txt", "z/ü.txt", "ü.txt"]


def show(label, value):
    print(f"{label}: {value!r}")


def summary(label, keys):
    show(f"{label} type", type(keys).__name__)
    show(f"{label} count", len(keys))
    show(f"{label} all str", all(isinstance(k, str) for k in keys))
    show(f"{label} sorted", keys == sorted(keys))
    show(f"{label} unique", len(set(keys)) == len(keys))
    show(f"{label} head", keys[:3])
    show(f"{label} tail", keys[-3:])


def store(key):
    s.write(BUCKET, key, key.encode())


def main():
    keys = [f"many/key-{i:04d}.txt" for i in range(MANY)] + OTHERS
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(store, reversed(keys)))

    everything = s.list_objects(BUCKET)
    summary("all", everything)
    show("all equals what was written", everything == sorted(keys))
    show("non-many keys", [k for k in everything if not k.startswith("many/")])

    summary("prefix many/", s.list_objects(BUCKET, prefix="many/"))
    summary("prefix many/key-10", s.list_objects(BUCKET, "many/key-10"))
    show("prefix b/", s.list_objects(BUCKET, prefix="b/"))
    show("prefix b", s.list_objects(BUCKET, prefix="b"))
    show("prefix z/", s.list_objects(BUCKET, "z/"))
    show("prefix nothing/", s.list_objects(BUCKET, prefix="nothing/"))

    show("max_results 5", s.list_objects(BUCKET, max_results=5))
    show("max_results 0", s.list_objects(BUCKET, max_results=0))
    show("prefix b max_results 2", s.list_objects(BUCKET, "b", max_results=2))
    summary("max_results 1001", s.list_objects(BUCKET, prefix="many/", max_results=1001))
    summary("max_results 1000", s.list_objects(BUCKET, max_results=1000))
    summary("max_results 5000", s.list_objects(BUCKET, max_results=5000))

    show("empty bucket", s.list_objects(EMPTY_BUCKET))
    try:
        s.list_objects(MISSING_BUCKET)
    except s.BucketNotFoundError:
        show("missing bucket raises BucketNotFoundError", True)

    for key in keys[:10]:
        s.delete(BUCKET, key)
    show("count after deleting 10", len(s.list_objects(BUCKET)))
    show("first after deleting 10", s.list_objects(BUCKET, max_results=1))


if __name__ == "__main__":
    main()
