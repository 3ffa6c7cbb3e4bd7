"""GitHub webhook signatures (`X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`)."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def is_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    # Compared whole and in constant time; a malformed header simply does not match.
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())
