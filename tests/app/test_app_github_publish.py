"""Publishing through the forge layer (app/github/publish.py), as the App and the Action both
do, against the GitHub fake: a token's own identity, long bodies split and capped, parts a
shorter body no longer needs removed, check runs found again and their texts cut safely."""

from __future__ import annotations

from fake_github import BOT, OTHER_BOT, FakeGitHub
from scenario import REPO

from infrar.app.github import publish
from infrar.app.github.client import GitHubClient
from infrar.app.github.publish import CUT_NOTE, MAX_PARTS, publish_comment
from infrar.engine.terraform import GITHUB_COMMENT_LIMIT


def table(rows: int) -> str:
    return "| a | b |\n| --- | --- |\n" + "".join(f"| row {i} | {'v' * 80} |\n"
                                                  for i in range(rows))


def test_a_token_knows_its_own_posts_by_asking_github_once(fake: FakeGitHub,
                                                           forge: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    fake.add_comment_as(REPO, pull.number, OTHER_BOT, "<!-- infrar:action:c -->\ntheirs")
    publish_comment(forge, pull.number, key="action:c", body="first")
    publish_comment(forge, pull.number, key="action:c", body="second")
    assert [c["body"] for c in fake.bot_comments(REPO, pull.number)] == [
        "<!-- infrar:action:c -->\nsecond"]
    assert forge.is_own(BOT["login"], "Bot") and not forge.is_own(OTHER_BOT["login"], "Bot")
    assert not forge.is_own(BOT["login"], "User")
    assert sum(c.path == "/graphql" for c in fake.calls) == 1


def test_a_shorter_body_removes_the_parts_it_no_longer_needs(fake: FakeGitHub,
                                                             forge: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    long_body = f"## Report\n\n{table(2000)}"
    publish_comment(forge, pull.number, key="action:r", body=long_body)
    parts = fake.bot_comments(REPO, pull.number)
    assert len(parts) >= 3
    assert all(len(p["body"]) <= GITHUB_COMMENT_LIMIT for p in parts)
    publish_comment(forge, pull.number, key="action:r", body="## Report\n\nall good\n")
    [left] = fake.bot_comments(REPO, pull.number)
    assert left["id"] == parts[0]["id"]
    assert left["body"] == "<!-- infrar:action:r -->\n## Report\n\nall good\n"


def test_a_huge_body_is_capped_and_says_so() -> None:
    parts = publish.split(f"## Huge\n\n{table(12000)}", "k", cut_note=CUT_NOTE)
    assert len(parts) == MAX_PARTS
    assert parts[-1].endswith(CUT_NOTE)
    assert all(len(publish.marker("k:part10")) + len(p) < GITHUB_COMMENT_LIMIT for p in parts)


def test_check_runs_are_found_again_and_cut_on_safe_boundaries(fake: FakeGitHub,
                                                               forge: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    first = publish.start_check(forge, pull.head_sha, name="Infrar", external_id="plan:1",
                                title="Planning")
    again = publish.start_check(forge, pull.head_sha, name="Infrar", external_id="plan:1",
                                title="Planning")
    assert again == first and len(fake.repos[REPO].check_runs) == 1
    text = "```text\n" + "x" * 70 + "\n" + ("line\n" * 20000) + "```\n"
    publish.complete_check(forge, first, conclusion="success", title="Done", summary=text,
                           text=text)
    run = fake.repos[REPO].check_runs[first]
    assert run["status"] == "completed" and run["conclusion"] == "success"
    for shown in (run["output"]["summary"], run["output"]["text"]):
        assert len(shown) <= publish.CHECK_TEXT_LIMIT
        assert shown.count("```") % 2 == 0 and shown.endswith(CUT_NOTE)


def test_the_pygithub_client_is_a_forge(forge: GitHubClient) -> None:
    from infrar.app.github.forge import Forge

    # (mypy checks the signatures where the App hands its client to app/github/publish.py)
    missing = [name for name in dir(Forge) if not name.startswith("_")
               and not callable(getattr(forge, name, None))]
    assert missing == []
