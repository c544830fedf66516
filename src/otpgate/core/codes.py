"""Codes that are never stored: derived from a server secret and a session nonce.

``code = HMAC-SHA256(secret[key_id], session_id || nonce)`` read as a number
modulo ``10**length``. The server can re-derive the code for a resend; the
database alone cannot, and a leaked code says nothing about another session.
Secrets live in a keyring so they can be rotated: new sessions use the current
key, live sessions keep the key they were created with.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping


def new_nonce() -> str:
    return secrets.token_hex(16)


def is_well_formed(code: str, length: int) -> bool:
    return len(code) == length and code.isascii() and code.isdigit()


class Keyring:
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key id is not in the keyring")
        if any(len(k) < 16 for k in keys.values()):
            raise ValueError("code secrets must be at least 16 bytes")
        self._keys = dict(keys)
        self.current = current

    def derive(self, key_id: str, session_id: str, nonce: str, length: int) -> str:
        key = self._keys.get(key_id)
        if key is None:
            raise KeyError(f"unknown code key {key_id!r}")
        mac = hmac.new(key, f"{session_id}:{nonce}".encode(), hashlib.sha256).digest()
        return str(int.from_bytes(mac, "big") % 10**length).zfill(length)

    def matches(self, key_id: str, session_id: str, nonce: str, submitted: str) -> bool:
        expected = self.derive(key_id, session_id, nonce, len(submitted))
        return hmac.compare_digest(expected.encode(), submitted.encode())

    def fingerprint(self, value: str) -> str:
        """A stable keyed hash of a destination, for limiter keys and lookups."""
        key = self._keys[self.current]
        return hmac.new(key, b"dest:" + value.encode(), hashlib.sha256).hexdigest()[:32]
