"""Destinations and personal details at rest: sealed with AES-256-GCM before they are stored.

A sealed value is text, so it fits the columns it replaces::

    og1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>

``og1`` names the format (a later one gets ``og2``); the key id (8 hex digits, a keyed
hash of the data key itself) says which key sealed it, so opening costs one AES-GCM
decryption whatever the rotation. New values are sealed under the current key
(``OTPGATE_DATA_KEY``); values under ``OTPGATE_DATA_KEY_PREVIOUS`` still open, and
``otpgate migrate-db`` (or any start) re-seals them under the current one (``reseal.py``).
A value without the prefix was written by an older release and is read as plain text.

The AES key is ``HMAC-SHA256(data key, "otpgate data key v1")``, so any secret of 32 or
more bytes serves. Lookups by a destination use :meth:`Sealer.lookup`, a keyed hash
under the lookup key (which never rotates), never the sealed value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "og1:"
_NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed value that no configured data key opens (wrong key, or tampered with)."""


def _key_id(key: bytes) -> str:
    return hmac.new(key, b"otpgate data key id", hashlib.sha256).hexdigest()[:8]


class Sealer:
    """Seals and opens text under the data keys (current first); hashes lookups."""

    __slots__ = ("_ciphers", "_current", "_lookup")

    def __init__(self, data_keys_newest_first: Sequence[bytes], *, lookup_key: bytes) -> None:
        if not data_keys_newest_first:
            raise ValueError("a sealer needs at least one data key")
        self._ciphers: dict[str, AESGCM] = {}
        for key in data_keys_newest_first:
            derived = hmac.new(key, b"otpgate data key v1", hashlib.sha256).digest()
            self._ciphers.setdefault(_key_id(key), AESGCM(derived))
        self._current = _key_id(data_keys_newest_first[0])
        self._lookup = lookup_key

    @property
    def current_prefix(self) -> str:
        """The start of every value sealed under the current key."""
        return f"{PREFIX}{self._current}:"

    def seal(self, text: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, text.encode(), None)
        return self.current_prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, value: str) -> str:
        """The text of a sealed value; a value without the prefix is returned as it is."""
        if not value.startswith(PREFIX):
            return value
        key_id, _, payload = value[len(PREFIX) :].partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealError(f"no configured data key has id {key_id} (OTPGATE_DATA_KEY?)")
        raw = base64.urlsafe_b64decode(payload)
        try:
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
        except InvalidTag:
            raise SealError("a sealed value failed authentication") from None

    def seal_optional(self, text: str | None) -> str | None:
        return self.seal(text) if text is not None else None

    def open_optional(self, value: str | None) -> str | None:
        return self.open(value) if value is not None else None

    def seal_json(self, value: Any, encoded: str | None = None) -> str:
        """JSON for a JSON column: the sealed text of ``value``'s JSON (``encoded``, when
        the caller has it already), as a JSON string."""
        sealed = self.seal(json.dumps(value) if encoded is None else encoded)
        # Quoted by hand: a sealed value is the prefix, hex and base64url, none of which
        # JSON escapes (json.dumps would scan its few kilobytes to find that out).
        return f'"{sealed}"'

    def open_json(self, stored: Any) -> Any:
        """What :meth:`seal_json` sealed, from the column's text or decoded JSON; a legacy
        plain JSON value is returned as it was stored."""
        value = json.loads(stored) if isinstance(stored, str) else stored
        if isinstance(value, str) and value.startswith(PREFIX):
            return json.loads(self.open(value))
        return value

    def lookup(self, value: str) -> str:
        """A keyed hash of ``value`` to find rows by (under the lookup key)."""
        return hmac.new(self._lookup, b"lookup:" + value.encode(), hashlib.sha256).hexdigest()[:32]
