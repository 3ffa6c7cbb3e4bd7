"""Parsing `/infrar` comments, and the diff lines review comments may sit on."""

from __future__ import annotations

import pytest

from infrar.app.github.diffs import commentable_lines
from infrar.app.workflow.commands import Command, CommandError, is_command, parse


@pytest.mark.parametrize(("body", "expected"), [
    ("/infrar plan", Command("plan")),
    ("/infrar apply -e production", Command("apply", "production")),
    ("/infrar apply --environment staging\nthanks!", Command("apply", "staging")),
    ("/infrar unlock --environment=prod", Command("unlock", "prod")),
    ("/infrar", Command("help")),
    ("  /infrar help  ", Command("help")),
    ("/infrar plan -p api", Command("plan", project="api")),
    ("/infrar apply -p services/api -e prod", Command("apply", "prod", "services/api")),
    ("/infrar unlock --project=worker", Command("unlock", project="worker")),
    ("/infrar approve-policies -e production -p api",
     Command("approve-policies", "production", "api")),
])
def test_commands(body: str, expected: Command) -> None:
    assert is_command(body) and parse(body) == expected


@pytest.mark.parametrize(("body", "message"), [
    ("/infrar destroy", "unknown command"),
    ("/infrar apply -e", "needs an environment"),
    ("/infrar apply -e '../x'", "not an environment"),
    ("/infrar plan --force", "unexpected argument"),
    ("/infrar plan 'unclosed", "cannot read"),
    ("/infrar plan -p", "needs a project name"),
    ("/infrar plan -p ../etc", "not a project name"),
    ("/infrar plan -p=api", "unexpected argument"),
])
def test_command_errors(body: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse(body)


def test_only_first_line_commands_count() -> None:
    assert not is_command("please run /infrar plan")
    assert not is_command("/infrared plan")


def test_commentable_lines_follow_hunks() -> None:
    patch = "@@ -1,3 +1,4 @@\n line1\n-old\n+new\n+added\n line3\n@@ -10,2 +11,2 @@\n x\n+y"
    assert commentable_lines(patch) == {1, 2, 3, 4, 11, 12}
    assert commentable_lines(None) == set()
