"""Sessions and API tokens: issue, look up, re-check access when due, revoke."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select

from infrar.app.crypto import Vault
from infrar.app.dashboard.access import Access
from infrar.app.dashboard.tables import SESSION, TOKEN, Principal
from infrar.app.state.db import Database, affected

SESSION_LIFETIME_S = 12 * 3600.0
TOKEN_LIFETIME_S = 90 * 86400.0
TOKEN_PREFIX = "infrar_"


class AccessLost(Exception):
    """GitHub no longer vouches for this user: sign in again."""


@dataclass(frozen=True)
class Operator:
    key_hash: str
    kind: str
    access: Access
    csrf: str

    @property
    def login(self) -> str:
        return self.access.login


@dataclass(frozen=True)
class TokenInfo:
    key_hash: str
    name: str
    created_at: float
    expires_at: float
    last_used_at: float | None


Recheck = Callable[[str, Access, str], tuple[Access, str]]
"""(kind, access as last known, the grant kept for it) -> (access now, the grant to keep);
raises AccessLost."""


def hash_key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _context(key_hash: str) -> str:
    return f"infrar-dashboard\0{key_hash}"


def issue(db: Database, vault: Vault, *, kind: str, access: Access, grant: str = "",
          name: str = "") -> tuple[str, Operator]:
    """A new session or API token: its secret value (shown once) and who it speaks for.
    `grant` (the user's GitHub tokens, for sessions) is stored sealed."""
    value = (TOKEN_PREFIX if kind == TOKEN else "") + secrets.token_urlsafe(32)
    key_hash, moment = hash_key(value), time.time()
    lifetime = TOKEN_LIFETIME_S if kind == TOKEN else SESSION_LIFETIME_S
    csrf = secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(Principal(key_hash=key_hash, kind=kind, login=access.login,
                        github_id=access.github_id, name=name,
                        sealed_token=vault.seal(grant.encode(), context=_context(key_hash)),
                        access=access.to_json(), csrf=csrf, checked_at=moment,
                        created_at=moment, expires_at=moment + lifetime, last_used_at=None))
    return value, Operator(key_hash, kind, access, csrf)


def find(db: Database, vault: Vault, value: str, *, kind: str, recheck_s: float,
         recheck: Recheck) -> Operator | None:
    """Who a cookie or token value speaks for, re-checking access when it is due."""
    key_hash, moment = hash_key(value), time.time()
    with db.session() as s:
        row = s.get(Principal, key_hash)
        if row is None or row.kind != kind:
            return None
        if row.expires_at < moment:
            s.delete(row)
            return None
        row.last_used_at = moment
        due = row.checked_at + recheck_s < moment
        sealed, known = row.sealed_token, Access.from_json(row.access)
        operator = Operator(key_hash, kind, known, row.csrf)
    if not due:
        return operator
    grant = vault.open(sealed, context=_context(key_hash)).decode()
    try:
        fresh, grant = recheck(kind, known, grant)
        if fresh.github_id != known.github_id:
            raise AccessLost("the grant now belongs to another GitHub user")
    except AccessLost:
        revoke(db, key_hash)
        raise
    with db.session() as s:
        row = s.get(Principal, key_hash)
        if row is None:
            return None
        row.access, row.checked_at = fresh.to_json(), time.time()
        row.sealed_token = vault.seal(grant.encode(), context=_context(key_hash))
    return Operator(key_hash, kind, fresh, operator.csrf)


def revoke(db: Database, key_hash: str, *, login: str | None = None) -> bool:
    query = delete(Principal).where(Principal.key_hash == key_hash)
    if login is not None:
        query = query.where(Principal.login == login)
    with db.session() as s:
        return affected(s.execute(query)) > 0


def tokens_of(db: Database, login: str) -> list[TokenInfo]:
    with db.session() as s:
        rows = s.execute(select(Principal).where(Principal.kind == TOKEN,
                                                 Principal.login == login)
                         .order_by(Principal.created_at)).scalars()
        return [TokenInfo(r.key_hash, r.name, r.created_at, r.expires_at, r.last_used_at)
                for r in rows]


__all__ = ["SESSION", "TOKEN", "AccessLost", "Operator", "Recheck", "TokenInfo", "find", "issue",
           "revoke", "tokens_of"]
