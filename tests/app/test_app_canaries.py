"""Canary secrets: every secret the App holds carries a distinct, recognisable value (a cloud
credential per environment, the installation tokens the fake issues, the webhook secret, the
App's private key, the encryption key). A whole pull request runs on `local`: opened -> plan
-> review (one environment's plan fails with a Terraform error that quotes the credential),
`/infrar apply`, merge. Then everything the run produced is scanned: the server's and
worker's log streams, caplog, every request body the fake GitHub received, every git object
pushed to the remote (commit messages, the bot branch's files), exception traces (the first
review post fails, so the job raises and is retried), every file left under the
test's folder (checkouts and their `.git/config`, the App's data folder with its database as
raw bytes, Terraform output, the `local` buckets). No canary anywhere."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from functools import partial
from pathlib import Path

import payloads
import pytest
from app_support import read_logs, wait_for
from fake_git import git
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO

from infrar.engine.terraform.redaction import REDACTED

CONFIG = """\
version: 1
project: photos
provider: local
environments:
  production:
    provider: local
    apply_on_merge: true
    apply_requirements: [approved, mergeable]
  staging:
    provider: local
"""
CREDENTIALS = {"production": "CANARY-cred-production-7f3a9c",
               "staging": "CANARY-cred-staging-51e2d8"}
WEBHOOK_SECRET = "CANARY-webhook-secret-c0ffee42"
ENCRYPTION_KEY_RAW = b"CANARY-encryption-key-0123456789"  # 32 bytes


def test_no_secret_leaks_anywhere(fake: FakeGitHub, app_env: dict[str, str], start_app,
                                  tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    encryption_key = base64.b64encode(ENCRYPTION_KEY_RAW).decode()
    env = {**app_env, "INFRAR_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "INFRAR_ENCRYPTION_KEY": encryption_key, "INFRAR_GENERATOR": "canary_generator"}
    for environment, value in CREDENTIALS.items():
        stored = subprocess.run(
            [sys.executable, "-c", "from infrar.cli.main import main; main()", "app",
             "set-credential", "--repo", REPO, "-e", environment, "TF_VAR_canary"],
            input=value + "\n", env={**_os_environ(), **env}, capture_output=True, text=True,
            timeout=60, check=False)
        assert stored.returncode == 0, stored.stderr
        (tmp_path / f"set-credential-{environment}.log").write_text(stored.stdout + stored.stderr)

    url = start_app("serve", env, "--embedded-workers", "0", "--log-level", "debug")
    start_app("worker", env, "--log-level", "debug")
    logs = partial(read_logs, tmp_path)
    secret = WEBHOOK_SECRET.encode()
    # Not GitHub's token shape, so that no pattern-based log scrubbing can hide a leak.
    fake.token_prefix = "CANARY-token-"
    fake.create_repo(REPO, {**BASE_FILES, ".infrar.yaml": CONFIG})
    fake.repos[REPO].permissions["alice"] = "write"
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    # The first review post is refused (not retried by the client): the job raises, its trace
    # is logged, the check run shows the error, and the retry posts the review.
    fake.fail_once("POST", f"/pulls/{pull.number}/reviews", status=422)

    assert fake.deliver(url, secret, "pull_request", payloads.pull_request(
        fake, REPO, pull, "opened")).status_code == 202
    # Planned twice (the first review post fails), each plan's policies checked by checkov.
    review = wait_for(lambda: fake.bot_reviews(REPO, pull.number), what="the plan review",
                      logs=logs, timeout=180)[0]
    # The failure path ran: staging's plan failed on the credential, quoted but redacted.
    assert "tonumber(var.canary)" in review["body"], review["body"]
    assert REDACTED in review["body"], review["body"]
    assert "Plan: 1 to add" in review["body"], review["body"]

    fake.approve(REPO, pull.number, "bob")
    command = payloads.comment(fake, REPO, pull, "/infrar apply -e production", "alice")
    assert fake.deliver(url, secret, "issue_comment", command).status_code == 202
    applied = wait_for(lambda: [c for c in fake.bot_comments(REPO, pull.number)
                                if "Applied `production`" in c["body"]
                                or "Not applied" in c["body"] or "failed" in c["body"]],
                       what="the apply answer", logs=logs)[0]
    assert "Applied `production`" in applied["body"], applied["body"]

    fake.merge_pull(REPO, pull.number)
    assert fake.deliver(url, secret, "pull_request", payloads.pull_request(
        fake, REPO, pull, "closed")).status_code == 202
    wait_for(lambda: [c for c in fake.bot_comments(REPO, pull.number)
                      if "apply on merge" in c["body"]], what="the merge report", logs=logs)
    wait_for(lambda: not fake.git.ref_exists(REPO, "refs/heads/infrar/pr-1"),
             what="the bot branch deleted", logs=logs)
    for proc in start_app.processes:
        proc.stop()  # flush and close the log streams

    canaries = _canaries(fake, encryption_key)
    assert len(fake.tokens) >= 1
    places: dict[str, bytes] = {"caplog": caplog.text.encode()}
    for index, body in enumerate(fake.bodies):
        places[f"request body #{index} received by the fake GitHub"] = body
    places["git objects of the remote"] = _git_objects(fake.git.bare(REPO))
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and not path.is_symlink():
            places[str(path.relative_to(tmp_path))] = path.read_bytes()
    assert _found(places, canaries) == []
    # Not even a fragment: every canary starts with this, and nothing else carries it.
    assert _found(places, {"a canary's prefix": b"CANARY"}) == []
    # The scan did look where the secrets were used, exception traces included.
    assert "Traceback" in logs() and "failed on attempt 1" in logs()
    assert any(name.endswith(".log") for name in places) and fake.bodies
    assert b"infrar: native code and Terraform" in places["git objects of the remote"]


def _os_environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def _canaries(fake: FakeGitHub, encryption_key: str) -> dict[str, bytes]:
    found = {f"credential ({e})": v.encode() for e, v in CREDENTIALS.items()}
    found["webhook secret"] = WEBHOOK_SECRET.encode()
    found["encryption key (base64)"] = encryption_key.encode()
    found["encryption key (raw)"] = ENCRYPTION_KEY_RAW
    body = [line for line in fake.private_pem.splitlines() if not line.startswith("-----")]
    found["private key (PEM body)"] = "".join(body)[:64].encode()
    found["private key (a PEM line)"] = body[len(body) // 2].encode()
    for index, token in enumerate(fake.tokens):
        found[f"installation token #{index}"] = token.encode()
    return found


def _found(places: dict[str, bytes], canaries: dict[str, bytes]) -> list[str]:
    return [f"{what} in {where}" for where, data in places.items()
            for what, value in canaries.items() if value in data]


def _git_objects(bare: Path) -> bytes:
    """Every object's content, decompressed (packs are zlib-compressed)."""
    listing = git("cat-file", "--batch-all-objects", "--batch-check=%(objectname)", cwd=bare)
    return subprocess.run(["git", "cat-file", "--batch"], cwd=bare, input=listing.encode(),
                          capture_output=True, check=True, timeout=60).stdout
