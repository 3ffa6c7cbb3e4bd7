"""Logging for App processes: secrets are scrubbed from every record, whatever logged it."""

from __future__ import annotations

import logging
import re
import sys

# GitHub token formats, JWTs, PEM keys and basic-auth headers.
_SECRET = re.compile(
    r"gh[pousr]_[A-Za-z0-9_]{16,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|(?i:authorization:\s*(?:basic|bearer|token)\s+)\S+",
    re.DOTALL)
REDACTED = "[redacted]"


def scrub(text: str) -> str:
    return _SECRET.sub(REDACTED, text)


class ScrubSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubSecrets())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # PyGithub logs response bodies at DEBUG, and an access-token response is one.
    logging.getLogger("github").setLevel(max(logging.INFO, logging.getLogger().level))
