"""Webhook payloads: GitHub's real examples (npm @octokit/webhooks-examples), and the same
shapes filled in for the fake's repositories and pull requests."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from fake_github import FakeGitHub, Pull, user

EXAMPLES = (Path(__file__).resolve().parents[1] / "node_modules" / "@octokit"
            / "webhooks-examples" / "api.github.com" / "index.json")


@cache
def _index() -> dict[str, list[dict[str, Any]]]:
    return {e["name"]: e["examples"] for e in json.loads(EXAMPLES.read_text(encoding="utf-8"))}


def all_examples() -> list[tuple[str, dict[str, Any]]]:
    return [(name, copy.deepcopy(example)) for name, examples in sorted(_index().items())
            for example in examples]


def example(event: str, action: str | None = None) -> dict[str, Any]:
    for candidate in _index()[event]:
        if action is None or candidate.get("action") == action:
            return copy.deepcopy(candidate)
    raise KeyError(f"no example for {event}.{action}")


def _common(fake: FakeGitHub, full_name: str, payload: dict[str, Any], sender: str
            ) -> dict[str, Any]:
    payload["repository"] = {**payload.get("repository", {}), **fake.repo_json(full_name)}
    payload["installation"] = {"id": fake.installation_id, "node_id": "MDIzOkludGVncmF0aW9u"}
    payload["sender"] = user(sender)
    return payload


def pull_request(fake: FakeGitHub, full_name: str, pull: Pull, action: str,
                 sender: str = "alice") -> dict[str, Any]:
    payload = example("pull_request", "opened")
    payload["action"] = action
    payload["number"] = pull.number
    payload["pull_request"] = {**payload["pull_request"], **fake.pull_json(full_name, pull)}
    return _common(fake, full_name, payload, sender)


def comment(fake: FakeGitHub, full_name: str, pull: Pull, body: str, login: str
            ) -> dict[str, Any]:
    posted = fake.add_user_comment(full_name, pull.number, login, body)
    payload = example("issue_comment", "created")
    payload["issue"] = {**payload["issue"], "number": pull.number, "state": pull.state,
                        "pull_request": {"url": f"{fake.api_url}/repos/{full_name}/pulls/"
                                                f"{pull.number}"}}
    payload["comment"] = {**payload["comment"], **posted}
    return _common(fake, full_name, payload, login)
