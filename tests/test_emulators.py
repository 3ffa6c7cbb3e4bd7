from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
import requests
from emulators import AzuriteBlob, GcsEmulator, MotoS3, gcs_signing_credentials

KEYS = ("dir/a.txt", "dir/b.txt", "other/c.txt")


def _name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def test_moto_s3_roundtrip(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    moto_s3.apply_env(monkeypatch)
    s3 = boto3.client("s3")
    assert s3.meta.endpoint_url == moto_s3.endpoint
    bucket = _name()
    s3.create_bucket(Bucket=bucket)
    for key in KEYS:
        s3.put_object(
            Bucket=bucket, Key=key, Body=key.encode(), ContentType="text/plain", Metadata={"k": "v"}
        )
    got = s3.get_object(Bucket=bucket, Key="dir/a.txt")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (
        b"dir/a.txt",
        "text/plain",
        {"k": "v"},
    )
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="dir/", PaginationConfig={"PageSize": 1}
    )
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == ["dir/a.txt", "dir/b.txt"]
    s3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "dir/a.txt"})
    s3.delete_object(Bucket=bucket, Key="dir/a.txt")
    assert s3.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"dir/a.txt"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "copy.txt"})
    assert requests.get(url, timeout=10).content == b"dir/a.txt"


def test_gcs_emulator_roundtrip(gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.cloud import storage

    gcs_emulator.apply_env(monkeypatch)
    client = storage.Client()
    assert client.project == "test-project"
    bucket = client.create_bucket(_name())
    for key in KEYS:
        blob = bucket.blob(key)
        blob.metadata = {"k": "v"}
        blob.upload_from_string(key.encode(), content_type="text/plain")
    got = bucket.get_blob("dir/a.txt")
    assert got is not None
    assert (got.download_as_bytes(), got.content_type, got.metadata) == (
        b"dir/a.txt",
        "text/plain",
        {"k": "v"},
    )
    assert [b.name for b in client.list_blobs(bucket, prefix="dir/")] == ["dir/a.txt", "dir/b.txt"]
    bucket.copy_blob(got, bucket, "copy.txt")
    got.delete()
    assert bucket.blob("copy.txt").download_as_bytes() == b"dir/a.txt"
    # The client's own credentials are anonymous and cannot sign; the emulator ignores signatures.
    url = bucket.blob("copy.txt").generate_signed_url(
        expiration=dt.timedelta(minutes=5), version="v4", credentials=gcs_signing_credentials()
    )
    assert url.startswith(f"{gcs_emulator.endpoint}/{bucket.name}/copy.txt?")
    assert requests.get(url, timeout=10).content == b"dir/a.txt"


def test_azurite_roundtrip(azurite: AzuriteBlob, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.storage.blob import (
        BlobSasPermissions,
        BlobServiceClient,
        ContentSettings,
        generate_blob_sas,
    )

    azurite.apply_env(monkeypatch)
    connection_string = os.environ["AZURE_STORAGE_CONNECTION_STRING"]
    service = BlobServiceClient.from_connection_string(connection_string)
    container = service.create_container(_name())
    for key in KEYS:
        container.upload_blob(
            key,
            key.encode(),
            metadata={"k": "v"},
            content_settings=ContentSettings(content_type="text/plain"),
        )
    src = container.get_blob_client("dir/a.txt")
    props = src.get_blob_properties()
    assert (src.download_blob().readall(), props.content_settings.content_type, props.metadata) == (
        b"dir/a.txt",
        "text/plain",
        {"k": "v"},
    )
    pages = container.list_blobs(name_starts_with="dir/", results_per_page=1).by_page()
    assert [b.name for p in pages for b in p] == ["dir/a.txt", "dir/b.txt"]
    copy = container.get_blob_client("copy.txt")
    assert copy.start_copy_from_url(src.url)["copy_status"] == "success"
    src.delete_blob()
    assert copy.download_blob().readall() == b"dir/a.txt"
    sas = generate_blob_sas(
        azurite.account_name,
        container.container_name,
        "copy.txt",
        account_key=azurite.account_key,
        permission=BlobSasPermissions(read=True),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5),
    )
    assert requests.get(f"{copy.url}?{sas}", timeout=10).content == b"dir/a.txt"
    assert requests.get(copy.url, timeout=10).status_code == 403
