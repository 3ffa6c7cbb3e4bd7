"""The GitHub client against the fake: token caching, idempotent and split posting, earlier
reviews hidden (GraphQL) or, where GitHub cannot, edited; only the App's own posts (its bot
login from `GET /app`) are ever taken for its own."""

from __future__ import annotations

import pytest
from fake_github import BOT, OTHER_BOT, FakeGitHub
from openapi_routes import allowed
from scenario import BASE_FILES, REPO

from infrar.app.github.auth import InstallationTokens
from infrar.app.github.client import GitHubClient, InlineComment
from infrar.app.github.publish import publish_comment, publish_review
from infrar.engine.terraform import GITHUB_COMMENT_LIMIT


@pytest.fixture
def client(fake: FakeGitHub) -> GitHubClient:
    fake.create_repo(REPO, BASE_FILES)
    tokens = InstallationTokens(app_id=str(fake.app_id), private_key=fake.private_pem,
                                api_url=fake.api_url)
    return GitHubClient(repo=REPO, token=lambda: tokens.token(fake.installation_id),
                        app_login=tokens.bot_login, api_url=fake.api_url, write_interval=0)


def token_requests(fake: FakeGitHub) -> int:
    return sum(c.path.endswith("/access_tokens") for c in fake.calls)


def test_installation_tokens_are_cached_until_near_expiry(fake: FakeGitHub) -> None:
    tokens = InstallationTokens(app_id=str(fake.app_id), private_key=fake.private_pem,
                                api_url=fake.api_url)
    first = tokens.token(fake.installation_id)
    assert tokens.token(fake.installation_id) == first and token_requests(fake) == 1
    near = InstallationTokens(app_id=str(fake.app_id), private_key=fake.private_pem,
                              api_url=fake.api_url, margin=3601)
    assert near.token(fake.installation_id) != near.token(fake.installation_id)


def test_a_wrong_app_key_is_rejected_by_github(fake: FakeGitHub) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from github import GithubException

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    tokens = InstallationTokens(app_id=str(fake.app_id), private_key=other, api_url=fake.api_url)
    with pytest.raises(GithubException):
        tokens.token(fake.installation_id)


def test_long_output_is_split_and_reposting_is_idempotent(fake: FakeGitHub,
                                                          client: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    table = "| a | b |\n| --- | --- |\n" + "".join(f"| row {i} | {'v' * 80} |\n"
                                                  for i in range(2000))
    body = f"## Big\n\n<details><summary>plan</summary>\n\n{table}\n</details>\n"
    assert len(body) > GITHUB_COMMENT_LIMIT
    for _ in range(2):
        publish_review(client, pull.number, key="k1", head_sha=pull.head_sha, body=body,
                       comments=[InlineComment("src/x.py", 1, "note")])
    reviews, comments = fake.bot_reviews(REPO, 1), fake.bot_comments(REPO, 1)
    assert len(reviews) == 1 and len(comments) >= 2
    for text in [reviews[0]["body"]] + [c["body"] for c in comments]:
        assert len(text) <= GITHUB_COMMENT_LIMIT
        assert text.count("<details") == text.count("</details>")


def big_plan() -> str:
    table = "".join(f"| row {i} | {'v' * 80} |\n" for i in range(1000))
    return f"## First plan\n\n| a | b |\n| --- | --- |\n{table}"


def graphql_calls(fake: FakeGitHub) -> int:
    return sum((c.method, c.path) == ("POST", "/graphql") for c in fake.calls)


def test_earlier_reviews_are_hidden_as_outdated(fake: FakeGitHub, client: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    publish_review(client, pull.number, key="k1", head_sha=pull.head_sha, body=big_plan(),
                   comments=[])
    first, parts = fake.bot_reviews(REPO, 1)[0], fake.bot_comments(REPO, 1)
    assert parts, "the first plan continues in comments"
    publish_review(client, pull.number, key="k2", head_sha=pull.head_sha, body="## Second\n",
                   comments=[])
    hidden = {n for n, why in fake.minimized.items() if why == "OUTDATED"}
    assert hidden == {first["node_id"], *(c["node_id"] for c in parts)}
    old = fake.bot_reviews(REPO, 1)[0]
    assert "## First plan" in old["body"] and "row 3 " in old["body"]  # kept, only hidden
    assert "Outdated: superseded" not in old["body"]
    assert fake.bot_comments(REPO, 1) == parts
    calls = graphql_calls(fake)
    publish_review(client, pull.number, key="k3", head_sha=pull.head_sha, body="## Third\n",
                   comments=[])
    assert graphql_calls(fake) == calls + 1  # only the second review: each is hidden once
    assert fake.bot_reviews(REPO, 1)[1]["node_id"] in fake.minimized


def test_where_github_cannot_hide_a_review_it_is_edited(fake: FakeGitHub,
                                                       client: GitHubClient) -> None:
    fake.minimizable.discard("PRR")  # as on a GitHub Enterprise Server without it
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    publish_review(client, pull.number, key="k1", head_sha=pull.head_sha, body=big_plan(),
                   comments=[])
    publish_review(client, pull.number, key="k2", head_sha=pull.head_sha, body="## Second\n",
                   comments=[])
    old = fake.bot_reviews(REPO, 1)[0]
    assert "Outdated: superseded by" in old["body"] and "## First plan" not in old["body"]
    assert fake.minimized == {} and fake.bot_comments(REPO, 1) == []
    assert graphql_calls(fake) == 1


def test_graphql_is_the_one_route_outside_the_rest_description() -> None:
    assert allowed("POST", "/graphql") and allowed("GET", "/repos/a/b/pulls/1")
    assert not allowed("GET", "/graphql") and not allowed("POST", "/graphql/x")
    assert not allowed("POST", "/api/graphql") and not allowed("GET", "/no/such/route")


def test_comments_are_updated_in_place(fake: FakeGitHub, client: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    publish_comment(client, pull.number, key="c", body="first")
    publish_comment(client, pull.number, key="c", body="second")
    assert [c["body"].split("\n", 1)[1] for c in fake.bot_comments(REPO, 1)] == ["second"]


def test_review_comments_outside_the_diff_are_refused_by_github(fake: FakeGitHub,
                                                                client: GitHubClient) -> None:
    from github import GithubException

    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    with pytest.raises(GithubException):
        client.create_review(pull.number, commit_sha=pull.head_sha, body="b",
                             comments=[InlineComment("src/helpers.py", 1, "not in the diff")])


def test_branch_deletion_uses_the_documented_route(fake: FakeGitHub, client: GitHubClient) -> None:
    fake.git.commit(REPO, "infrar/pr-9", {"a.txt": "a"})
    assert client.delete_branch("infrar/pr-9") is True
    assert client.delete_branch("infrar/pr-9") is False
    assert ("DELETE", f"/repos/{REPO}/git/refs/heads/infrar/pr-9") in {
        (c.method, c.path) for c in fake.calls}


def test_the_apps_login_comes_from_github_once(fake: FakeGitHub) -> None:
    tokens = InstallationTokens(app_id=str(fake.app_id), private_key=fake.private_pem,
                                api_url=fake.api_url)
    assert tokens.bot_login() == BOT["login"] == tokens.bot_login()
    assert [(c.method, c.path) for c in fake.calls] == [("GET", "/app")]


def test_another_bots_posts_are_never_taken_for_ours(fake: FakeGitHub,
                                                     client: GitHubClient) -> None:
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    # Another App's posts carrying our hidden keys: a copy, or a bot quoting one of ours.
    theirs = fake.add_comment_as(REPO, pull.number, OTHER_BOT, "<!-- infrar:c -->\ntheirs")
    their_review = fake.add_review_as(REPO, pull.number, OTHER_BOT,
                                      "<!-- infrar:review:k0 -->\ntheir plan")
    their_part = fake.add_comment_as(REPO, pull.number, OTHER_BOT,
                                     "<!-- infrar:review:k0:part2 -->\nmore")
    publish_comment(client, pull.number, key="c", body="ours")
    publish_review(client, pull.number, key="k1", head_sha=pull.head_sha, body="## Plan\n",
                   comments=[])
    assert theirs["body"] == "<!-- infrar:c -->\ntheirs"
    assert their_review["body"] == "<!-- infrar:review:k0 -->\ntheir plan"
    assert their_part in fake.repos[REPO].comments[pull.number]
    assert fake.minimized == {}
    assert [c["body"] for c in fake.bot_comments(REPO, pull.number)] == ["<!-- infrar:c -->\nours"]
    assert len(fake.bot_reviews(REPO, pull.number)) == 1
    assert not client.is_own(OTHER_BOT["login"], "Bot") and client.is_own("Infrar[bot]", "Bot")
    assert not client.is_own(BOT["login"], "User")
