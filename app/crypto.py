"""Cloud credentials at rest: AES-256-GCM, with key rotation.

A sealed value is `v1:<key id>:<base64(nonce + ciphertext + tag)>`. The key id (a short hash
of the key) says which key opens it, so old values stay readable after a new key is put first,
and `reseal` moves them to the newest key. The associated data binds a value to its record:
a ciphertext copied onto another repository's record does not open.
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


class Vault:
    def __init__(self, keys: tuple[bytes, ...]) -> None:
        self._keys = {key_id(k): k for k in keys}
        self._primary = key_id(keys[0]) if keys else None

    def seal(self, plaintext: bytes, *, context: str) -> str:
        if self._primary is None:
            raise CryptoError("INFRAR_ENCRYPTION_KEY is not set: cannot store credentials")
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self._primary]).encrypt(nonce, plaintext, context.encode())
        payload = base64.b64encode(nonce + sealed).decode()
        return f"{VERSION}:{self._primary}:{payload}"

    def open(self, token: str, *, context: str) -> bytes:
        try:
            version, kid, payload = token.split(":", 2)
            raw = base64.b64decode(payload, validate=True)
        except (ValueError, binascii.Error):
            raise CryptoError("sealed value is malformed") from None
        if version != VERSION:
            raise CryptoError(f"sealed value has unknown format {version!r}")
        key = self._keys.get(kid)
        if key is None:
            raise CryptoError(f"no configured key opens this value (key id {kid})")
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise CryptoError("sealed value failed authentication") from None

    def needs_reseal(self, token: str) -> bool:
        return token.split(":", 2)[1:2] != [self._primary]

    def reseal(self, token: str, *, context: str) -> str:
        """The same plaintext under the newest key (for rotation)."""
        return self.seal(self.open(token, context=context), context=context)
