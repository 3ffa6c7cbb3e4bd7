"""Physical resource names: one function, used both in generated Terraform and in transformed code.

A logical name is what the code says (`upload("uploads", ...)`); the physical name is what the
cloud sees (`photo-app-prod-uploads`). Names that come from user code are checked here, before
they can reach HCL or a shell, against rules every provider shares (no quotes, no interpolation,
no paths) and then against the naming rule the provider's service declares as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTITY_PATTERN = "{name}"
DEFAULT_PATTERN = "{project}-{environment}-{name}"
DEFAULT_PATTERN_WITHOUT_PROJECT = "{environment}-{name}"
_PLACEHOLDER = re.compile(r"\{(project|environment|name)\}")

# Checked before any provider rule, so the message says what is wrong rather than
# just "does not match": each of these could break out of an HCL string or a path.
_HOSTILE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\"'`]"), "contains a quote"),
    (re.compile(r"[\r\n]"), "contains a line break"),
    (re.compile(r"\$\{"), "contains the Terraform interpolation sequence '${'"),
    (re.compile(r"%\{"), "contains the Terraform template directive '%{'"),
    (re.compile(r"\\"), "contains a backslash"),
    (re.compile(r"(^|/)\.\.(/|$)"), "contains a '..' path segment"),
    (re.compile(r"/"), "contains a '/'"),
    (re.compile(r"[\x00-\x1f\x7f]"), "contains a control character"),
    (re.compile(r"\s"), "contains whitespace"),
)


@dataclass(frozen=True)
class NamingRule:
    """What a provider accepts for one kind of resource (declared in service.yaml)."""

    pattern: str
    min_length: int
    max_length: int
    description: str

    def problem(self, name: str) -> str | None:
        if len(name) < self.min_length:
            return f"is shorter than {self.min_length} characters"
        if len(name) > self.max_length:
            return f"is {len(name)} characters long; the limit is {self.max_length}"
        if re.fullmatch(self.pattern, name) is None:
            return f"must be {self.description}"
        return None


@dataclass(frozen=True)
class Naming:
    """How logical names become physical ones for one project and environment."""

    pattern: str = IDENTITY_PATTERN
    project: str | None = None
    environment: str = "default"

    def physical(self, logical: str) -> str:
        values = {"project": self.project or "", "environment": self.environment, "name": logical}
        # Our own substitution, not str.format: a pattern must never reach attributes.
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.pattern)


def hostile_reason(name: str) -> str | None:
    """Why `name` may never be emitted anywhere, or None."""
    if not name:
        return "is empty"
    for pattern, reason in _HOSTILE:
        if pattern.search(name):
            return reason
    return None


def name_problem(logical: str, physical: str, rule: NamingRule) -> str | None:
    """A complete sentence tail explaining why the name is refused, or None when it is fine."""
    reason = hostile_reason(logical)
    if reason:
        return f"{reason}; it cannot be used as a resource name"
    problem = rule.problem(physical)
    if problem is None:
        return None
    if physical == logical:
        return problem
    return f"becomes {physical!r}, which {problem}"
