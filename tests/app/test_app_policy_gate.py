"""The policy gate, through the real server, real git, real Terraform on `local` and real
checkov, against the GitHub fake: a plan that fails the repository's own (checkov custom YAML)
policy is shown failing in the review and the check run, `/infrar apply` is refused until a
policy owner approves, a non-owner's approval is refused with the reason, and a new push voids
the approval."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import payloads
import pytest
from app_support import Deliveries, read_logs
from fake_github import FakeGitHub
from scenario import APP_PY, REPO

from infrar.engine.policy import CheckovNotFoundError, find_checkov

CONFIG = """\
version: 1
project: photos
provider: local
policy:
  checkov: false
  custom: policies
environments:
  production:
    provider: local
    policy_owners: [carol, acme/infra]
"""

# Bucket folders must live under /srv/buckets: the local root of the tests never does.
POLICY = """\
metadata:
  id: CKV2_PHOTOS_1
  name: Bucket folders live under /srv/buckets
  category: GENERAL_SECURITY
definition:
  cond_type: attribute
  resource_types: [null_resource]
  attribute: triggers.folder
  operator: starting_with
  value: /srv/buckets
"""

FILES = {".infrar.yaml": CONFIG, "policies/folders.yaml": POLICY, "README.md": "# photos\n"}


@pytest.fixture(autouse=True)
def checkov() -> None:
    try:
        find_checkov()
    except CheckovNotFoundError:
        pytest.skip("checkov is not installed (make install-test)")


def test_a_failing_policy_blocks_apply_until_an_owner_approves_this_plan(
        fake: FakeGitHub, app_env: dict[str, str], start_app, tmp_path: Path) -> None:
    url = start_app("serve", app_env, "--server", "flask", "--embedded-workers", "2")
    send = Deliveries(fake, url, app_env, partial(read_logs, tmp_path))
    fake.create_repo(REPO, FILES)
    fake.repos[REPO].permissions.update(alice="write", bob="write", dave="write")
    fake.teams[("acme", "infra")] = {"dave"}
    local = Path(app_env["INFRAR_LOCAL_ROOT"])
    pull = fake.open_pull(REPO, "feature", {"src/app.py": APP_PY})
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))

    review = fake.bot_reviews(REPO, pull.number)[-1]["body"]
    assert "Plan: 1 to add" in review and "Policies: 1 failed" in review, review
    assert "<code>policies/folders.yaml:2</code>" in review
    assert "/infrar approve-policies -e production" in review
    assert "<code>carol</code>, <code>acme/infra</code>" in review
    run = next(r for r in fake.repos[REPO].check_runs.values()
               if r["head_sha"] == pull.head_sha)
    assert "Policies: 1 failed" in run["output"]["summary"]
    assert [(a["path"], a["start_line"]) for a in run["output"]["annotations"]] == [
        ("policies/folders.yaml", 2)]

    def command(body: str, login: str = "alice") -> str:
        send.send("issue_comment", payloads.comment(fake, REPO, pull, body, login))
        return [c["body"] for c in fake.bot_comments(REPO, pull.number)][-1]

    refused = command("/infrar apply")
    assert "Not applied" in refused and "1 policy check(s) failed" in refused, refused
    assert "approve-policies -e production" in refused
    assert not (local / "photos-production-uploads").exists()

    stranger = command("/infrar approve-policies", "bob")
    assert "Policies not approved" in stranger
    assert "<code>bob</code> is not one of its policy owners" in stranger
    assert "Not applied" in command("/infrar apply")

    approved = command("/infrar approve-policies -e production", "dave")  # via acme/infra
    assert "Policies approved" in approved and "<code>dave</code>" in approved, approved

    # A new push makes a new plan: the approval was for the old one's digest.
    fake.push_to_pull(REPO, pull.number, {"README.md": "# photos, again\n"})
    send.send("pull_request", payloads.pull_request(fake, REPO, pull, "synchronize"))
    assert pull.head_sha[:7] in fake.bot_reviews(REPO, pull.number)[-1]["body"]
    again = command("/infrar apply")
    assert "Not applied" in again and "policy check(s) failed" in again, again

    assert "Policies approved" in command("/infrar approve-policies", "carol")
    applied = command("/infrar apply")
    assert "Applied `production`" in applied, applied
    assert (local / "photos-production-uploads").is_dir()


def test_policy_owners_are_logins_or_team_members(fake: FakeGitHub) -> None:
    from infrar.app.github.auth import InstallationTokens
    from infrar.app.github.client import GitHubClient
    from infrar.app.workflow.requirements import is_policy_owner

    fake.create_repo(REPO, FILES)
    fake.teams[("acme", "infra")] = {"dave"}
    tokens = InstallationTokens(app_id=str(fake.app_id), private_key=fake.private_pem,
                                api_url=fake.api_url)
    gh = GitHubClient(repo=REPO, token=lambda: tokens.token(fake.installation_id),
                      app_login=tokens.bot_login, api_url=fake.api_url, write_interval=0)
    owners = ("Carol", "acme/infra")
    assert is_policy_owner(gh, "carol", owners)
    assert is_policy_owner(gh, "dave", owners)
    assert not is_policy_owner(gh, "erin", owners)
    assert not is_policy_owner(gh, "dave", ("acme/security",))
