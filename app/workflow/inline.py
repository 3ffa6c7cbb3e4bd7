"""Inline review comments on the rewritten source lines, where GitHub allows them (in the diff)."""

from __future__ import annotations

from collections.abc import Sequence

from infrar.app.github.client import GitHubClient, InlineComment
from infrar.app.github.diffs import commentable_lines
from infrar.app.workflow.render import rewrite_comment
from infrar.app.workflow.transform_step import TreeTransform
from infrar.engine.transform import Rewrite

MAX_INLINE = 50


def inline_comments(gh: GitHubClient, number: int,
                    trees: Sequence[tuple[str, TreeTransform, str]]
                    ) -> tuple[list[InlineComment], list[tuple[str, Rewrite]]]:
    """(comments to attach, rewrites that could not be attached and go in the body), for each
    (project folder prefix, its transform, its providers)."""
    diff_lines = {f.filename: commentable_lines(f.patch)
                  for f in gh.pull_files(number) if f.status != "removed"}
    attached: list[InlineComment] = []
    leftover: list[tuple[str, Rewrite]] = []
    for prefix, tree, provider in trees:
        for relative, result in sorted(tree.changed.items()):
            path = prefix + relative
            if path not in diff_lines:
                continue  # unchanged in this pull request: not news to the reviewer
            for rewrite in result.rewrites:
                lines = diff_lines[path]
                if (len(attached) < MAX_INLINE and rewrite.line in lines
                        and rewrite.end_line in lines):
                    start = rewrite.line if rewrite.line < rewrite.end_line else None
                    attached.append(InlineComment(path, rewrite.end_line,
                                                  rewrite_comment(rewrite, provider), start))
                else:
                    leftover.append((path, rewrite))
    return attached, leftover
