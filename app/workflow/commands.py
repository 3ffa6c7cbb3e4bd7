"""Parse `/infrar <command> [-p PROJECT] [-e ENV]` comments."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

PREFIX = "/infrar"
COMMANDS = ("plan", "apply", "unlock", "approve-policies", "help")
_ENV = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
_PROJECT = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._/-]{0,199}$")
_OPTIONS = {"-e": "environment", "--environment": "environment",
            "-p": "project", "--project": "project"}

_WHAT = {"environment": "an environment name", "project": "a project name"}


@dataclass(frozen=True)
class Command:
    name: str
    environment: str | None = None
    project: str | None = None


class CommandError(ValueError):
    pass


def is_command(body: str) -> bool:
    first = body.strip().split("\n", 1)[0].strip()
    return first == PREFIX or first.startswith(PREFIX + " ")


def parse(body: str) -> Command:
    """The command on the comment's first line; CommandError says what is wrong with it."""
    line = body.strip().split("\n", 1)[0].strip()
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise CommandError(f"cannot read the command: {exc}") from None
    if not words or words[0] != PREFIX:
        raise CommandError("not an Infrar command")
    if len(words) == 1:
        return Command("help")
    name, rest = words[1], words[2:]
    if name not in COMMANDS:
        raise CommandError(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
    values: dict[str, str] = {}
    while rest:
        word = rest.pop(0)
        option, equals, inline = word.partition("=")
        if option not in _OPTIONS or (equals and not option.startswith("--")):
            raise CommandError(f"unexpected argument {word!r}")
        if not equals:
            if not rest:
                raise CommandError(f"{word} needs {_WHAT[_OPTIONS[option]]}")
            inline = rest.pop(0)
        values[_OPTIONS[option]] = inline
    environment, project = values.get("environment"), values.get("project")
    if environment is not None and not _ENV.match(environment):
        raise CommandError(f"{environment!r} is not an environment name")
    if project is not None and (not _PROJECT.match(project) or ".." in project.split("/")):
        raise CommandError(f"{project!r} is not a project name")
    return Command(name, environment, project)
