"""Who may plan and apply, and the repository's apply requirements."""

from __future__ import annotations

from collections.abc import Sequence

from infrar.app.github.client import GitHubClient, PullInfo

WRITE = ("admin", "maintain", "write")


def can_write(gh: GitHubClient, login: str) -> bool:
    return gh.permission(login) in WRITE


def unmet(gh: GitHubClient, pr: PullInfo, requirements: Sequence[str]) -> list[str]:
    """Why the pull request may not be applied yet; empty when it may."""
    reasons = []
    if "approved" in requirements and not _approved(gh, pr.number):
        reasons.append("it needs an approving review (apply requirement `approved`)")
    if "mergeable" in requirements and pr.mergeable is not True:
        state = "unknown yet" if pr.mergeable is None else "not mergeable"
        reasons.append(f"it must be mergeable; GitHub says {state} (apply requirement "
                       "`mergeable`)")
    if "undiverged" in requirements:
        behind = gh.behind_by(pr.base_ref, pr.head_sha)
        if behind:
            reasons.append(f"its branch is {behind} commit(s) behind `{pr.base_ref}`; update it "
                           "(apply requirement `undiverged`)")
    return reasons


def _approved(gh: GitHubClient, number: int) -> bool:
    latest: dict[str, str] = {}
    for review in gh.reviews(number):
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.author] = review.state
    states = set(latest.values())
    return "APPROVED" in states and "CHANGES_REQUESTED" not in states


def is_policy_owner(gh: GitHubClient, login: str, owners: Sequence[str]) -> bool:
    """`login` is one of `owners`: a login (any case), or an active member of an `org/team`."""
    for owner in owners:
        org, slash, team = owner.partition("/")
        if not slash and owner.casefold() == login.casefold():
            return True
        if slash and org and team and gh.team_member(org, team, login):
            return True
    return False
