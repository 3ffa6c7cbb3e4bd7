"""Post to a pull request idempotently and tidily, through any `Forge`: the App and the Action.

Every body starts with a hidden marker holding a key, `<!-- infrar:KEY -->`. Before posting,
the poster looks for its own post with that key (`Forge.is_own`: its own user, never merely a
post that carries the marker), so a rerun or a job retried after a crash updates instead of
repeating. Earlier plan reviews are hidden as outdated (or, where GitHub cannot hide them,
replaced by a one-line note). Bodies past GitHub's size limit (65,536 characters) are split on
safe Markdown boundaries into at most MAX_PARTS posts, the last one cut with a note; parts a
shorter body no longer needs are deleted. Check runs are found by external id before one is
started, and their texts are cut on safe boundaries too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from infrar.app.github.forge import Annotation, CheckOutput, Forge, InlineComment, Posted
from infrar.engine.terraform.markdown import GITHUB_COMMENT_LIMIT, split_markdown

REVIEW_PREFIX = "review:"
SUPERSEDED = "<!-- infrar:superseded -->"
MAX_PARTS = 10
CUT_NOTE = "\n\n*Cut to fit GitHub's size limit.*\n"
CHECK_TEXT_LIMIT = 65535  # characters of a check run's summary, and of its text
CHECK_TITLE_LIMIT = 1000
_PART_ROOM = 60  # a part's key suffix and its "continued, part N of M" line
_MARK = re.compile(r"<!-- infrar:([^ >]+) -->")
_PART = ":part"


def marker(key: str) -> str:
    return f"<!-- infrar:{key} -->"


def key_in(body: str) -> str | None:
    """The key of the first marker in `body`, whoever wrote it."""
    found = _MARK.search(body)
    return found.group(1) if found else None


def key_of(post: Posted, forge: Forge) -> str | None:
    """The key of one of the forge user's own posts; None for anyone else's, whatever it says:
    another bot's post carrying our marker is never updated, hidden or deleted."""
    if not forge.is_own(post.author, post.author_type):
        return None
    return key_in(post.body)


def split(body: str, key: str, *, cut_note: str = CUT_NOTE) -> list[str]:
    """`body` in parts that fit one post each with their marker; at most MAX_PARTS."""
    room = GITHUB_COMMENT_LIMIT - len(marker(key)) - _PART_ROOM
    parts = split_markdown(body, limit=room)
    if len(parts) <= MAX_PARTS:
        return parts
    last = split_markdown(parts[MAX_PARTS - 1], limit=room - len(cut_note))[0]
    return [*parts[:MAX_PARTS - 1], last.rstrip("\n") + cut_note]


def cut(text: str, limit: int, *, cut_note: str = CUT_NOTE) -> str:
    """`text` if it fits in `limit` characters, else its head on a safe boundary and a note."""
    if len(text) <= limit:
        return text
    return split_markdown(text, limit=limit - len(cut_note))[0].rstrip("\n") + cut_note


# --- reviews and comments ---------------------------------------------------------------------

def publish_review(forge: Forge, number: int, *, key: str, head_sha: str, body: str,
                   comments: Sequence[InlineComment]) -> Posted:
    review_key = REVIEW_PREFIX + key
    existing = forge.reviews(number)
    parts = split(body, review_key)
    mine = next((r for r in existing if key_of(r, forge) == review_key), None)
    if mine is None:
        mine = forge.create_review(number, commit_sha=head_sha,
                                   body=f"{marker(review_key)}\n{parts[0]}", comments=comments)
    if len(parts) > 1 or any(key_of(r, forge) for r in existing):
        posted = forge.comments(number)
        for index, part in enumerate(parts[1:], start=2):
            _upsert(forge, number, posted, f"{review_key}{_PART}{index}",
                    f"*(continued, part {index} of {len(parts)})*\n\n{part}")
        _drop_parts(forge, number, posted, review_key, keep=len(parts))
        _supersede(forge, number, existing, posted, keep=review_key, newer=mine)
    return mine


def publish_comment(forge: Forge, number: int, *, key: str, body: str,
                    existing: list[Posted] | None = None,
                    cut_note: str = CUT_NOTE) -> list[Posted]:
    """One comment under `key` (more when `body` is long), created or updated in place."""
    existing = forge.comments(number) if existing is None else existing
    parts = split(body, key, cut_note=cut_note)
    posted = [_upsert(forge, number, existing, key if index == 1 else f"{key}{_PART}{index}",
                      part)
              for index, part in enumerate(parts, start=1)]
    _drop_parts(forge, number, existing, key, keep=len(parts))
    return posted


def _upsert(forge: Forge, number: int, existing: list[Posted], key: str, part: str) -> Posted:
    text = f"{marker(key)}\n{part}"
    mine = next((c for c in existing if key_of(c, forge) == key), None)
    if mine is None:
        return forge.create_comment(number, text)
    if mine.body != text:
        forge.update_comment(number, mine.id, text)
    return mine


def _drop_parts(forge: Forge, number: int, existing: list[Posted], key: str, *,
                keep: int) -> None:
    """Delete the continuation parts of `key` past the first `keep` (a shorter body)."""
    for comment in existing:
        base, _, index = (key_of(comment, forge) or "").rpartition(_PART)
        if base == key and index.isdigit() and int(index) > keep:
            forge.delete_comment(number, comment.id)


def _supersede(forge: Forge, number: int, existing: list[Posted], comments: list[Posted], *,
               keep: str, newer: Posted) -> None:
    older = [r for r in existing if (key_of(r, forge) or "").startswith(REVIEW_PREFIX)
             and key_of(r, forge) != keep and SUPERSEDED not in r.body]
    for review in older:
        key = key_of(review, forge)
        hidden = forge.minimize(review.node_id)
        for comment in comments:  # its continuation parts, before the review is marked done
            part_of = (key_of(comment, forge) or "").rsplit(_PART, 1)[0]
            if part_of == key and not (hidden and forge.minimize(comment.node_id)):
                forge.delete_comment(number, comment.id)
        if hidden:
            # The plan stays readable behind GitHub's "show"; the marker records it is done.
            forge.update_review(number, review.id, f"{review.body}\n{SUPERSEDED}")
        else:
            link = f"[a newer Infrar plan]({newer.html_url})" if newer.html_url else "a newer plan"
            forge.update_review(number, review.id,
                                f"{marker(str(key))}\n{SUPERSEDED}\n*Outdated: superseded by "
                                f"{link}.*")


# --- check runs -------------------------------------------------------------------------------

def start_check(forge: Forge, head_sha: str, *, name: str, external_id: str, title: str) -> int:
    """The check run `name` for `external_id` on `head_sha`: the one started earlier, if any."""
    found = forge.find_check_run(head_sha, name=name, external_id=external_id)
    if found is not None:
        return found
    return forge.start_check_run(head_sha, name=name, external_id=external_id,
                                 title=title[:CHECK_TITLE_LIMIT])


def update_check(forge: Forge, run_id: int, *, title: str, summary: str, text: str = "") -> None:
    """A running check's output, as its work goes on."""
    forge.update_check_run(run_id, output=CheckOutput(
        title=title[:CHECK_TITLE_LIMIT], summary=cut(summary, CHECK_TEXT_LIMIT),
        text=cut(text, CHECK_TEXT_LIMIT)))


def complete_check(forge: Forge, run_id: int, *, conclusion: str, title: str, summary: str,
                   text: str = "", annotations: Sequence[Annotation] = ()) -> None:
    output = CheckOutput(title=title[:CHECK_TITLE_LIMIT], summary=cut(summary, CHECK_TEXT_LIMIT),
                         text=cut(text, CHECK_TEXT_LIMIT), annotations=tuple(annotations))
    forge.complete_check_run(run_id, conclusion=conclusion, output=output)
