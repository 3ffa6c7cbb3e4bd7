"""Secrets at rest: AES-256-GCM, with key rotation.

Cloud credentials, saved plans and local-backend Terraform state are sealed with the same keys.
A sealed value is `v1:<key id>:<payload>`: as text (credentials) the payload is
base64(nonce + ciphertext + tag), as bytes (plans, state) it is those bytes raw. The key id (a
short hash of the key) says which key opens it, so old values stay readable after a new key is
put first, and `reseal` moves them to the newest key. The associated data binds a value to its
record: a ciphertext copied onto another repository's record does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1"
_PREFIX = f"{VERSION}:".encode()


class CryptoError(ValueError):
    """A value cannot be sealed or opened with the configured keys."""


def parse_keys(value: str) -> tuple[bytes, ...]:
    keys = []
    for index, part in enumerate(p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            key = base64.b64decode(part, validate=True)
        except binascii.Error:
            raise ValueError(f"key #{index + 1} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"key #{index + 1} has {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        keys.append(key)
    return tuple(keys)


def new_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"infrar-key-id\0" + key).hexdigest()[:12]


def is_sealed(value: bytes) -> bool:
    """Whether stored bytes are sealed (values written before encryption are not)."""
    return value.startswith(_PREFIX)


class Vault:
    def __init__(self, keys: tuple[bytes, ...]) -> None:
        self._keys = {key_id(k): k for k in keys}
        self._primary = key_id(keys[0]) if keys else None

    @property
    def can_seal(self) -> bool:
        return self._primary is not None

    def _encrypt(self, plaintext: bytes, context: str) -> tuple[str, bytes]:
        if self._primary is None:
            raise CryptoError("INFRAR_ENCRYPTION_KEY is not set: cannot store credentials, "
                              "plans or Terraform state")
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self._primary]).encrypt(nonce, plaintext, context.encode())
        return self._primary, nonce + sealed

    def _decrypt(self, version: str, kid: str, raw: bytes, context: str) -> bytes:
        if version != VERSION:
            raise CryptoError(f"sealed value has unknown format {version!r}")
        key = self._keys.get(kid)
        if key is None:
            raise CryptoError(f"no configured key opens this value (key id {kid})")
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise CryptoError("sealed value failed authentication") from None

    def seal(self, plaintext: bytes, *, context: str) -> str:
        kid, raw = self._encrypt(plaintext, context)
        return f"{VERSION}:{kid}:{base64.b64encode(raw).decode()}"

    def open(self, token: str, *, context: str) -> bytes:
        try:
            version, kid, payload = token.split(":", 2)
            raw = base64.b64decode(payload, validate=True)
        except (ValueError, binascii.Error):
            raise CryptoError("sealed value is malformed") from None
        return self._decrypt(version, kid, raw, context)

    def seal_bytes(self, plaintext: bytes, *, context: str) -> bytes:
        """As `seal`, without base64: for large binary values (plan archives, state)."""
        kid, raw = self._encrypt(plaintext, context)
        return f"{VERSION}:{kid}:".encode() + raw

    def open_bytes(self, sealed: bytes, *, context: str) -> bytes:
        if not is_sealed(sealed):
            raise CryptoError("stored value is not sealed (written before encryption at rest); "
                              "run `infrar app rotate-key` to seal it")
        try:
            version, kid, raw = sealed.split(b":", 2)
            names = version.decode("ascii"), kid.decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raise CryptoError("sealed value is malformed") from None
        return self._decrypt(*names, raw, context)

    def needs_reseal(self, token: str | bytes) -> bool:
        if isinstance(token, bytes):
            if not is_sealed(token):
                return True
            token = token[:40].decode("ascii", "replace")
        return token.split(":", 2)[1:2] != [self._primary]

    def reseal(self, token: str, *, context: str) -> str:
        """The same plaintext under the newest key (for rotation)."""
        return self.seal(self.open(token, context=context), context=context)

    def reseal_bytes(self, sealed: bytes, *, context: str) -> bytes:
        """The same plaintext under the newest key; an unsealed legacy value gets sealed."""
        plaintext = self.open_bytes(sealed, context=context) if is_sealed(sealed) else sealed
        return self.seal_bytes(plaintext, context=context)
