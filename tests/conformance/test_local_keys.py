"""Keys that a file system reads specially are still just keys on `local`, as on the clouds:
".", "..", keys longer than a file name may be, and any bytes of UTF-8; a failed write leaves
no temporary file behind; keys past the portable limit are refused on every provider alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infrar.storage import (
    StorageError,
    copy,
    delete,
    exists,
    get_metadata,
    list_objects,
    read,
    write,
)

AWKWARD = [".", "..", "a/../b", "../../etc/passwd", "x" * 1000, "é" * 500, "%~x", "sp ace"]


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INFRAR_PROVIDER", "local")
    monkeypatch.setenv("INFRAR_LOCAL_ROOT", str(tmp_path / "root"))
    folder = tmp_path / "root" / "b"
    folder.mkdir(parents=True)
    return folder


def test_awkward_keys_are_plain_keys(bucket: Path) -> None:
    for key in AWKWARD:
        write("b", key, key.encode(), metadata={"k": "v"})
    assert list_objects("b") == sorted(AWKWARD)
    for key in AWKWARD:
        assert read("b", key) == key.encode()
        assert exists("b", key)
        assert get_metadata("b", key).key == key
    copy("b", "x" * 1000, "y" * 1000)
    assert read("b", "y" * 1000) == b"x" * 1000
    delete("b", "x" * 1000)
    assert not exists("b", "x" * 1000)
    assert not (bucket.parent / "etc").exists()
    assert all(entry.parent == bucket for entry in bucket.iterdir())


@pytest.mark.parametrize(("key", "reason"), [
    ("z" * 1025, "at most 1024 are portable"), ("\ud800", "not valid UTF-8"), ("", "invalid"),
])
def test_keys_no_provider_takes_are_refused(bucket: Path, key: str, reason: str) -> None:
    with pytest.raises(StorageError, match=reason):
        write("b", key, b"data")


def test_a_failed_write_leaves_no_temporary_file(bucket: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: str, destination: str) -> None:
        raise OSError("disk full")

    write("b", "first", b"1")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write("b", "second", b"2")
    meta = bucket.parent / ".infrar-meta" / "b"
    assert not [p for p in meta.iterdir() if p.name.endswith(".part")]
    assert [p.name for p in bucket.iterdir()] == ["first"]
