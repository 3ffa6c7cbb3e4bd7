"""Pull request opened -> bot branch + review with plan -> merge -> apply on `local`, through
the real server (waitress, embedded workers), real git and real Terraform, against the fake;
the plan and the state it leaves are stored sealed."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import payloads
from app_support import ENCRYPTION_KEY, SECRET, read_logs, wait_for
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, REPO

from infrar.app.crypto import Vault, parse_keys
from infrar.app.settings import Settings
from infrar.app.state import tfstate
from infrar.app.state.db import Database
from infrar.app.workflow.gitops import TRAILER


def test_pull_request_to_apply_on_merge(fake: FakeGitHub, app_env: dict[str, str], start_app,
                                        tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--embedded-workers", "2")
    logs = partial(read_logs, tmp_path)
    fake.create_repo(REPO, BASE_FILES)
    fake.repos[REPO].permissions["alice"] = "write"
    smuggled = ".infrar/terraform/production/extra.tf"
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY,
                                            smuggled: 'resource "null_resource" "x" {}\n'})

    answer = fake.deliver(url, SECRET.encode(), "pull_request",
                          payloads.pull_request(fake, REPO, pull, "opened"))
    assert answer.status_code == 202, answer.text

    review = wait_for(lambda: fake.bot_reviews(REPO, pull.number), what="the plan review",
                      logs=logs)[0]
    branch = "refs/heads/infrar/pr-1"
    message = fake.git.message(REPO, branch)
    assert f"{TRAILER}: {pull.head_sha}" in message
    assert fake.git.parent(REPO, branch) == pull.head_sha
    assert fake.git.show(REPO, branch, "src/app.py") == APP_PY  # the source stays as written
    native = fake.git.show(REPO, branch, ".infrar/build/local/src/app.py")
    assert native == APP_PY.replace("from infrar.storage", "from infrar_native.storage")
    names = fake.git.show(REPO, branch, ".infrar/build/local/infrar_native/resources.py")
    assert '"uploads": "photos-production-uploads"' in names
    assert fake.git.show(REPO, branch, ".infrar/build/local/src/helpers.py") == \
        BASE_FILES["src/helpers.py"]
    assert "module \"storage\"" in fake.git.show(
        REPO, branch, ".infrar/terraform/production/main.tf")
    assert "Plan: 1 to add, 0 to change, 0 to destroy" in review["body"]
    assert not fake.git.has_file(REPO, branch, smuggled)  # only generated Terraform is planned
    assert "<details>" in review["body"]
    assert [(c["path"], c["line"]) for c in review["comments"]] == [("src/app.py", 3)]
    assert "from infrar_native.storage import read, write" in review["comments"][0]["body"]

    runs = list(fake.repos[REPO].check_runs.values())
    assert [(r["head_sha"], r["status"], r["conclusion"]) for r in runs] == [
        (pull.head_sha, "completed", "success")]
    assert fake.git_calls and all(authorised for _, _, authorised in fake.git_calls)

    fake.approve(REPO, pull.number, "bob")
    fake.merge_pull(REPO, pull.number)
    answer = fake.deliver(url, SECRET.encode(), "pull_request",
                          payloads.pull_request(fake, REPO, pull, "closed"))
    assert answer.status_code == 202

    report = wait_for(lambda: [c for c in fake.bot_comments(REPO, pull.number)
                               if "apply on merge" in c["body"]], what="the apply report",
                      logs=logs)[0]
    assert "Applied `production`" in report["body"], report["body"]
    assert (Path(app_env["INFRAR_LOCAL_ROOT"]) / "photos-production-uploads").is_dir()
    wait_for(lambda: not fake.git.ref_exists(REPO, branch), what="bot branch deletion",
             logs=logs)

    # Plan archive and state are sealed: the name is in the state, but not in the database.
    vault = Vault(parse_keys(ENCRYPTION_KEY))
    db = Database(Settings.from_env(app_env).resolved_database_url)
    state = tfstate.load(db, vault, repo=REPO, environment="production")
    name = b"photos-production-uploads"
    assert state is not None and name in state
    stored = b"".join(p.read_bytes() for p in Path(app_env["INFRAR_DATA_DIR"]).glob("*.db*"))
    assert stored and name not in stored

    tokens = list(fake.tokens)
    for path in Path(app_env["INFRAR_DATA_DIR"]).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(t.encode() in data for t in tokens), f"token persisted in {path}"
    assert not any(t in logs() for t in tokens), "token in logs"
