"""The plumbing of the live view: Terraform's runner hands each line (redacted) to a callback
while it runs, the App keeps a job's lines bounded, and the event stream a browser reads
carries them, beats while the job is quiet and ends by itself."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

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


def test_job_output_is_bounded_per_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _db(tmp_path)
    monkeypatch.setattr(job_output, "MAX_LINES_PER_JOB", 3)
    production = job_output.recorder(db, job_id="j1", stream="production")
    staging = job_output.recorder(db, job_id="j1", stream="staging")
    production("one")
    staging("two with ghp_" + "x" * 36)
    production("three " + "y" * 5000)
    for text in ("four", "five"):
        staging(text)
    kept = job_output.lines(db, "j1")
    assert [line.stream for line in kept] == ["production", "staging", "production", "staging"]
    assert kept[1].text == "two with [redacted]"
    assert len(kept[2].text) == job_output.MAX_LINE_CHARS
    assert kept[3].text == job_output.TRUNCATED
    # A later attempt of the same job adds nothing past the bound.
    job_output.recorder(db, job_id="j1", stream="production")("six")
    assert len(job_output.lines(db, "j1")) == 4
    assert job_output.streams(db, "j1") == ["production", "staging"]
    assert [line.text for line in job_output.lines(db, "j1", stream="staging")][0].startswith(
        "two")


class _Runtime:
    def __init__(self, db: Database) -> None:
        self.db = db


def test_event_stream_beats_ends_by_itself_and_is_bounded(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    db = _db(tmp_path)
    deliveries.record(db, delivery_id="live", event="pull_request", action="opened",
                      subject=None, payload=b"{}")
    record = job_output.recorder(db, job_id="live", stream="production")
    record("Refreshing state...")
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
