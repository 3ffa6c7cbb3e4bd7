"""Parse `/infrar <command> [-e ENV]` comments."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

PREFIX = "/infrar"
COMMANDS = ("plan", "apply", "unlock", "help")
_ENV = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


@dataclass(frozen=True)
class Command:
    name: str
    environment: str | None = None


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
    environment = None
    while rest:
        word = rest.pop(0)
        if word in ("-e", "--environment"):
            if not rest:
                raise CommandError(f"{word} needs an environment name")
            environment = rest.pop(0)
        elif word.startswith("--environment="):
            environment = word.split("=", 1)[1]
        else:
            raise CommandError(f"unexpected argument {word!r}")
    if environment is not None and not _ENV.match(environment):
        raise CommandError(f"{environment!r} is not an environment name")
    return Command(name, environment)
