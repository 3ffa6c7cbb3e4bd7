"""Scrub secrets out of text that leaves the process (error messages, logs)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "(redacted)"
MIN_SECRET_LENGTH = 4

_SECRET_NAME = re.compile(
    r"SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|ACCESS_KEY|API_KEY", re.I
)
_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
)


def secrets_from_env(env: Mapping[str, str]) -> list[str]:
    """Values of variables whose names say they hold a secret (including `TF_VAR_*` ones)."""
    return [value for name, value in env.items() if _SECRET_NAME.search(name) and value]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    # Longest first, so a secret that contains another is removed whole.
    for secret in sorted(
        {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    ):
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text
