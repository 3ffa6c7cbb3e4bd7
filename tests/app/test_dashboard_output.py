"""The plumbing of the live view: Terraform's runner hands each line (redacted) to a callback
while it runs, the App keeps a job's lines bounded, and the event stream a browser reads
carries them, beats while the job is quiet and ends by itself."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from app_support import ENCRYPTION_KEY, wait_for

from infrar.app.crypto import Vault, parse_keys
from infrar.app.dashboard import stream
from infrar.app.state import deliveries, job_output
from infrar.app.state.db import Database
from infrar.engine import terraform as tf
from infrar.engine.terraform.redaction import REDACTED

SECRET = "line-secret-0a9b8c7d"
MAIN_TF = f"""
resource "null_resource" "app" {{
  triggers = {{
    note = "{SECRET}"
  }}
}}
"""


def test_runner_passes_each_line_redacted_while_it_runs(tf_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    workdir = tmp_path / "stack"
    workdir.mkdir()
    (workdir / "main.tf").write_text(MAIN_TF, encoding="utf-8")
    lines: list[str] = []
    threads: set[str] = set()

    def collect(line: str) -> None:
        lines.append(line)
        threads.add(threading.current_thread().name)

    tf.init(workdir, env=tf_env, on_output=collect)
    assert any("Terraform has been successfully initialized" in line for line in lines)
    lines.clear()
    result = tf.plan(workdir, plan_file=workdir / "p.tfplan", env=tf_env, secrets=[SECRET],
                     on_output=collect)
    assert result.has_changes
    assert [line for line in result.output.splitlines() if line] == [
        line for line in lines if line]
    assert not any(SECRET in line for line in lines)
    assert any(REDACTED in line for line in lines) and REDACTED in result.output
    assert threading.current_thread().name not in threads  # called as the lines came

    def broken(_line: str) -> None:
        raise ValueError("a broken display")

    again = tf.plan(workdir, plan_file=workdir / "p.tfplan", env=tf_env, secrets=[SECRET],
                    on_output=broken)
    assert again.has_changes and "Plan: 1 to add" in again.output


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_schema()
    return db


VAULT = Vault(parse_keys(ENCRYPTION_KEY))


def test_job_output_is_bounded_per_job_and_sealed(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    db = _db(tmp_path)
    monkeypatch.setattr(job_output, "MAX_LINES_PER_JOB", 3)
    production = job_output.recorder(db, VAULT, job_id="j1", stream="production")
    staging = job_output.recorder(db, VAULT, job_id="j1", stream="staging")
    production("one")
    production.flush()
    staging("two with ghp_" + "x" * 36)
    staging.flush()
    production("three " + "y" * 5000)
    production.flush()
    for text in ("four", "five"):
        staging(text)
    staging.flush()
    kept = job_output.lines(db, VAULT, "j1")
    assert [line.stream for line in kept] == ["production", "staging", "production", "staging"]
    assert kept[1].text == "two with [redacted]"
    assert len(kept[2].text) == job_output.MAX_LINE_CHARS
    assert kept[3].text == job_output.TRUNCATED
    # A later attempt of the same job adds nothing past the bound.
    again = job_output.recorder(db, VAULT, job_id="j1", stream="production")
    again("six")
    again.flush()
    assert len(job_output.lines(db, VAULT, "j1")) == 4
    assert job_output.streams(db, "j1") == ["production", "staging"]
    assert job_output.lines(db, VAULT, "j1", stream="staging")[0].text.startswith("two")
    # Sealed at rest, like plans: the database holds none of the text.
    stored = b"".join(f.read_bytes() for f in tmp_path.glob("state.db*"))
    assert b"one" not in stored and b"three" not in stored and b"yyyy" not in stored


def test_lines_are_written_in_batches_without_a_flush(tmp_path: Path) -> None:
    db = _db(tmp_path)
    record = job_output.recorder(db, VAULT, job_id="j2", stream="dev")
    for index in range(50):
        record(f"line {index}")
    texts = wait_for(lambda: [line.text for line in job_output.lines(db, VAULT, "j2")]
                     if job_output.count(db, "j2") == 50 else None, what="the lines stored")
    assert texts == [f"line {index}" for index in range(50)]
    # Without an encryption key nothing is kept.
    keyless = job_output.recorder(db, Vault(()), job_id="j3", stream="dev")
    keyless("plain")
    keyless.flush()
    assert job_output.count(db, "j3") == 0


class _Runtime:
    def __init__(self, db: Database) -> None:
        self.db, self.vault = db, VAULT


def test_event_stream_beats_ends_by_itself_and_is_bounded(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    db = _db(tmp_path)
    deliveries.record(db, delivery_id="live", event="pull_request", action="opened",
                      subject=None, payload=b"{}")
    record = job_output.recorder(db, VAULT, job_id="live", stream="production")
    record("Refreshing state...")
    record.flush()
    monkeypatch.setattr(stream, "POLL_S", 0.01)
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.0)
    monkeypatch.setattr(stream, "MAX_STREAM_S", 0.2)
    runtime = _Runtime(db)
    events = list(stream.Stream(runtime, "live", after=0))  # type: ignore[arg-type]
    assert events[0].startswith("retry: ")
    assert 'data: {"stream": "production", "text": "Refreshing state..."}' in events[1]
    assert ": heartbeat\n\n" in events[2:]
    assert not any("event: end" in e for e in events)  # still running: the client reconnects
    first = int(events[1].split("\n")[0].removeprefix("id: "))
    record("Plan: 1 to add, 0 to change, 0 to destroy.")
    record.flush()
    deliveries.finish(db, "live")
    resumed = list(stream.Stream(runtime, "live", after=first))  # type: ignore[arg-type]
    assert "Plan: 1 to add" in resumed[1] and "Refreshing" not in "".join(resumed)
    assert resumed[-1] == 'event: end\ndata: {"status": "done"}\n\n'
    # Each open stream holds a request thread: past MAX_STREAMS, refused until one closes.
    held = [stream.Stream(runtime, "live", after=0)  # type: ignore[arg-type]
            for _ in range(stream.MAX_STREAMS)]
    with pytest.raises(stream.Busy):
        stream.Stream(runtime, "live", after=0)  # type: ignore[arg-type]
    held[0].close()
    stream.Stream(runtime, "live", after=0).close()  # type: ignore[arg-type]
    for one in held[1:]:
        one.close()


def test_lines_of_a_retired_key_show_as_unreadable(tmp_path: Path) -> None:
    import base64

    db = _db(tmp_path)
    record = job_output.recorder(db, VAULT, job_id="old", stream="dev")
    record("planned long ago")
    record.flush()
    newer = Vault(parse_keys(base64.b64encode(b"n" * 32).decode()))
    assert [line.text for line in job_output.lines(db, newer, "old")] == [
        job_output.UNREADABLE]
