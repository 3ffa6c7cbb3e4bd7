"""Copies within and across buckets, and signed URLs that are really fetched.

Uses the SDK module imported from the package: `from infrar import storage`.
"""

import os
import urllib.error
import urllib.parse
import urllib.request

from infrar import storage

BUCKET = os.environ["CONFORMANCE_BUCKET"]
OTHER_BUCKET = os.environ["CONFORMANCE_BUCKET_2"]
MISSING_BUCKET = os.environ["CONFORMANCE_MISSING_BUCKET"]


def show(label, value):
    print(f"{label}: {value!r}")


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def fetch_fails(url):
    try:
        fetch(url)
    except urllib.error.URLError:
        return True
    return False


def put(url, data):
    if urllib.parse.urlsplit(url).scheme == "file":
        # A file URL grants the file itself; writing it is what a PUT means there.
        with open(urllib.request.url2pathname(urllib.parse.urlsplit(url).path), "wb") as handle:
            handle.write(data)
        return
    headers = {"Content-Type": "application/octet-stream", "x-ms-blob-type": "BlockBlob"}
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def facts(bucket, key):
    info = storage.get_metadata(bucket, key)
    return info.size, info.content_type, info.metadata


def outcome(action):
    try:
        action()
    except storage.ObjectNotFoundError:
        return "ObjectNotFoundError"
    except storage.BucketNotFoundError:
        return "BucketNotFoundError"
    except storage.StorageError:
        return "StorageError"
    except ValueError:
        return "ValueError"
    return "ok"


def main():
    storage.write(BUCKET, "src/report.csv", "a,b\n1,2\n", content_type="text/csv",
                  metadata={"team": "data", "version": "7"})

    storage.copy(BUCKET, "src/report.csv", "dst/report.csv")
    show("copy within bucket", storage.read(BUCKET, "dst/report.csv"))
    show("copy keeps content type and metadata", facts(BUCKET, "dst/report.csv"))
    show("source still there", storage.exists(BUCKET, "src/report.csv"))

    storage.copy(BUCKET, "src/report.csv", "imported/report.csv", destination_bucket=OTHER_BUCKET)
    show("copy across buckets", storage.read(OTHER_BUCKET, "imported/report.csv"))
    show("copy across keeps content type and metadata", facts(OTHER_BUCKET, "imported/report.csv"))
    show("not copied into the source bucket", storage.exists(BUCKET, "imported/report.csv"))
    show("other bucket listing", storage.list_objects(OTHER_BUCKET))

    storage.write(BUCKET, "dst/report.csv", b"old")
    storage.copy(BUCKET, "src/report.csv", "dst/report.csv", destination_bucket=BUCKET)
    show("copy overwrites", storage.read(BUCKET, "dst/report.csv"))

    storage.copy(BUCKET, "src/report.csv", "src/report.csv")
    show("copy onto itself", storage.read(BUCKET, "src/report.csv"))
    show("copy onto itself keeps metadata", facts(BUCKET, "src/report.csv"))

    show("copy missing source", outcome(lambda: storage.copy(BUCKET, "no/such.csv", "x.csv")))
    show("copy from missing bucket",
         outcome(lambda: storage.copy(MISSING_BUCKET, "src/report.csv", "x.csv")))
    show("copy to missing bucket", outcome(
        lambda: storage.copy(BUCKET, "src/report.csv", "x.csv", destination_bucket=MISSING_BUCKET)))
    show("failed copies wrote nothing", storage.exists(BUCKET, "x.csv"))

    url = storage.generate_signed_url(BUCKET, "src/report.csv")
    show("signed url is str", isinstance(url, str))
    show("fetch signed GET url", fetch(url))
    url = storage.generate_signed_url(BUCKET, "dst/report.csv", expires_in=60, method="GET")
    show("fetch short-lived signed GET url", fetch(url))
    storage.write(BUCKET, "odd name/ü+x.txt", b"odd key")
    show("fetch signed url of an odd key",
         fetch(storage.generate_signed_url(BUCKET, "odd name/ü+x.txt", expires_in=300)))

    url = storage.generate_signed_url(BUCKET, "incoming/upload.bin", method="PUT", expires_in=600)
    put(url, b"uploaded through a signed url")
    show("read after signed PUT", storage.read(BUCKET, "incoming/upload.bin"))

    url = storage.generate_signed_url(BUCKET, "no/such/object.txt")
    show("signed url of a missing key is made", isinstance(url, str))
    show("fetching it fails", fetch_fails(url))
    url = storage.generate_signed_url(MISSING_BUCKET, "src/report.csv")
    show("signed url in a missing bucket is made", isinstance(url, str))
    show("fetching it fails", fetch_fails(url))

    show("signed url with method DELETE",
         outcome(lambda: storage.generate_signed_url(BUCKET, "src/report.csv", method="DELETE")))
    show("signed url with expires_in 0",
         outcome(lambda: storage.generate_signed_url(BUCKET, "src/report.csv", expires_in=0)))
    show("signed url for 8 days", outcome(
        lambda: storage.generate_signed_url(BUCKET, "src/report.csv", expires_in=8 * 86400)))
    show("signed url for 7 days",
         outcome(lambda: storage.generate_signed_url(BUCKET, "src/report.csv", expires_in=604800)))


if __name__ == "__main__":
    main()
