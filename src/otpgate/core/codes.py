"""Codes that are never stored: derived from a server secret and a session nonce.

``code = HMAC-SHA256(secret[key_id], session_id || nonce)`` read as a number
modulo ``10**length``. The server can re-derive the code for a resend; the
database alone cannot, and a leaked code says nothing about another session.
Secrets live in a keyring so they can be rotated: new sessions use the current
key, live sessions keep the key they were created with.

A key's id is a keyed hash of the key itself (``key_id``), so a session names the
secret it was made under whatever position that secret takes in a later rotation;
the ids ``env1``/``db1`` (current) and ``env0`` (previous) of older releases stay
readable as ``legacy`` aliases.

Destination fingerprints (limiter keys, lockouts, lookups) use a separate *lookup
key* that does not rotate with the code secret, so a rotation lifts no lockout.
The keyring receives every key; it reads no file and no setting.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence

MIN_SECRET_BYTES = 16
LEGACY_KEY_IDS: Mapping[str, int] = {"env1": 0, "db1": 0, "env0": 1}
"""Key ids of releases before 0.x: position in the rotation (0 current, 1 previous)."""


def new_nonce() -> str:
    return secrets.token_hex(16)


def is_well_formed(code: str, length: int) -> bool:
    return len(code) == length and code.isascii() and code.isdigit()


def key_id(lookup_key: bytes, secret: bytes) -> str:
    """A short stable name for ``secret`` that reveals nothing without ``lookup_key``."""
    return "k" + hmac.new(lookup_key, b"key-id:" + secret, hashlib.sha256).hexdigest()[:20]


class Keyring:
    def __init__(self, keys: Mapping[str, bytes], current: str, *, lookup_key: bytes) -> None:
        if current not in keys:
            raise ValueError("the current key id is not in the keyring")
        if any(len(k) < MIN_SECRET_BYTES for k in (*keys.values(), lookup_key)):
            raise ValueError(f"code secrets must be at least {MIN_SECRET_BYTES} bytes")
        self._keys = dict(keys)
        self._lookup = lookup_key
        self.current = current

    @classmethod
    def rotating(cls, secrets_newest_first: Sequence[bytes], *, lookup_key: bytes) -> Keyring:
        """The current secret first, then the previous ones still accepted."""
        if not secrets_newest_first:
            raise ValueError("a keyring needs at least one code secret")
        keys = {key_id(lookup_key, s): s for s in secrets_newest_first}
        for alias, position in LEGACY_KEY_IDS.items():
            if position < len(secrets_newest_first):
                keys[alias] = secrets_newest_first[position]
        return cls(keys, current=key_id(lookup_key, secrets_newest_first[0]), lookup_key=lookup_key)

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
        """A stable keyed hash of a destination, for limiter keys and lookups.

        Under the lookup key, not a code secret: it stays the same across rotations."""
        return hmac.new(self._lookup, b"dest:" + value.encode(), hashlib.sha256).hexdigest()[:32]
