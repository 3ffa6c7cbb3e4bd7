"""GitHub's published REST description (npm @octokit/openapi): is (method, path) a real route?
GraphQL is one route outside it: POST /graphql."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DESCRIPTION = TESTS / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"
_PARAM = re.compile(r"\\\{([^}\\]+)\\\}")
# Parameters whose values may hold slashes on GitHub (refs, file paths, compare ranges); they
# are tried only when no template matches with one segment per parameter.
_SLASHY = {"ref", "path", "basehead"}

Route = tuple[str, re.Pattern[str], str]


@cache
def routes() -> tuple[list[Route], list[Route]]:
    spec = json.loads(DESCRIPTION.read_text(encoding="utf-8"))
    strict, loose = [], []
    for template, operations in spec["paths"].items():
        escaped = re.escape(template)
        one = re.compile("^" + _PARAM.sub("[^/]+", escaped) + "$")
        many = re.compile("^" + _PARAM.sub(
            lambda m: ".+" if m.group(1) in _SLASHY else "[^/]+", escaped) + "$")
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                strict.append((method.upper(), one, template))
                loose.append((method.upper(), many, template))
    return strict, loose


GRAPHQL = ("POST", "/graphql")


def allowed(method: str, path: str) -> bool:
    """A route GitHub documents in REST, or its one GraphQL endpoint (not in that description);
    nothing else."""
    return (method.upper(), path.split("?", 1)[0]) == GRAPHQL or match(method, path) is not None


def match(method: str, path: str) -> str | None:
    """The template GitHub documents for this call, or None if GitHub has no such route."""
    path = path.split("?", 1)[0]
    for table in routes():
        for verb, pattern, template in table:
            if verb == method.upper() and pattern.match(path):
                return template
    return None
