"""One job of the Action tests: the harness runner, the GitHub fake and the pull request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fake_github import FakeGitHub, Pull
from harness import Runner

REPOSITORY = "Codertocat/Hello-World"  # the repository of GitHub's webhook examples
APP = '''"""Stores photos."""
from infrar.storage import list_objects, write

write("photos", "cat.jpg", b"...", content_type="image/jpeg")
print(list_objects("photos"))
'''
CONFIG = "version: 1\nproject: demo\nprovider: local\npaths: [src/]\noutput: generated\n"


@dataclass
class Job:
    runner: Runner
    fake: FakeGitHub
    pull: Pull
    token: str

    def comments(self) -> list[dict[str, Any]]:
        return self.fake.bot_comments(REPOSITORY, self.pull.number)
