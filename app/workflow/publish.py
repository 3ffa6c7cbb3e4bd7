"""Post to a pull request idempotently and tidily.

Every body carries a hidden marker with a key. Before posting, the App looks for its own post
with that key, so a job retried after a crash updates instead of repeating. Earlier plan
reviews are hidden as outdated (or, where GitHub cannot hide them, replaced by a one-line
note), and bodies past GitHub's size limit are split on safe boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from infrar.app.github.client import GitHubClient, InlineComment, Posted
from infrar.engine.terraform import GITHUB_COMMENT_LIMIT, split_markdown

REVIEW_PREFIX = "review:"
SUPERSEDED = "<!-- infrar:superseded -->"
_MARK = re.compile(r"<!-- infrar:([^ >]+) -->")


def marker(key: str) -> str:
    return f"<!-- infrar:{key} -->"


def key_of(post: Posted, *, me: str) -> str | None:
    """The key of one of this App's posts (`me`: its login); None for anyone else's, whatever
    it says: another bot's post carrying our marker is never updated, hidden or deleted."""
    if post.author_type != "Bot" or post.author.casefold() != me.casefold():
        return None
    found = _MARK.search(post.body)
    return found.group(1) if found else None


def _split(body: str, key: str) -> list[str]:
    room = GITHUB_COMMENT_LIMIT - len(marker(key)) - 40
    return split_markdown(body, limit=room)


def publish_review(gh: GitHubClient, number: int, *, key: str, head_sha: str, body: str,
                   comments: Sequence[InlineComment]) -> Posted:
    review_key = REVIEW_PREFIX + key
    me = gh.app_login()
    existing = gh.reviews(number)
    parts = _split(body, review_key)
    mine = next((r for r in existing if key_of(r, me=me) == review_key), None)
    if mine is None:
        mine = gh.create_review(number, commit_sha=head_sha,
                                body=f"{marker(review_key)}\n{parts[0]}", comments=comments)
    for index, part in enumerate(parts[1:], start=2):
        publish_comment(gh, number, key=f"{review_key}:part{index}",
                        body=f"*(continued, part {index} of {len(parts)})*\n\n{part}")
    _supersede(gh, number, existing, keep=review_key, newer=mine)
    return mine


def publish_comment(gh: GitHubClient, number: int, *, key: str, body: str,
                    existing: list[Posted] | None = None) -> list[Posted]:
    me = gh.app_login()
    existing = gh.comments(number) if existing is None else existing
    parts = _split(body, key)
    posted = []
    for index, part in enumerate(parts, start=1):
        part_key = key if index == 1 else f"{key}:part{index}"
        text = f"{marker(part_key)}\n{part}"
        mine = next((c for c in existing if key_of(c, me=me) == part_key), None)
        if mine is None:
            posted.append(gh.create_comment(number, text))
        else:
            if mine.body != text:
                gh.update_comment(number, mine.id, text)
            posted.append(mine)
    return posted


def _supersede(gh: GitHubClient, number: int, existing: list[Posted], *, keep: str,
               newer: Posted) -> None:
    me = gh.app_login()
    older = [r for r in existing if (key_of(r, me=me) or "").startswith(REVIEW_PREFIX)
             and key_of(r, me=me) != keep and SUPERSEDED not in r.body]
    if not older:
        return
    comments = gh.comments(number)
    for review in older:
        key = key_of(review, me=me)
        hidden = gh.minimize(review.node_id)
        for comment in comments:  # its continuation parts, before the review is marked done
            part_of = (key_of(comment, me=me) or "").rsplit(":part", 1)[0]
            if part_of == key and not (hidden and gh.minimize(comment.node_id)):
                gh.delete_comment(number, comment.id)
        if hidden:
            # The plan stays readable behind GitHub's "show"; the marker records it is done.
            gh.update_review(number, review.id, f"{review.body}\n{SUPERSEDED}")
        else:
            link = f"[a newer Infrar plan]({newer.html_url})" if newer.html_url else "a newer plan"
            gh.update_review(number, review.id,
                             f"{marker(str(key))}\n{SUPERSEDED}\n*Outdated: superseded by {link}.*")
