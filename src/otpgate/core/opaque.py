"""Opaque credentials: random strings handed out once and stored only as their SHA-256.

API keys (``og_live_…``), the sponsor API's verification tokens (``otvt_…``) and the
PhoneMatch gateway's continuation and final tokens are all made here. Each carries well
over 128 random bits, so a fast, unsalted hash is the right one to store: nobody can
guess a preimage, and a lookup by hash stays one indexed read.
"""

from __future__ import annotations

import hashlib
import secrets
import string

BASE62 = string.ascii_letters + string.digits


def random_token(length: int, alphabet: str = BASE62, prefix: str = "") -> str:
    """``prefix`` and ``length`` characters drawn from ``alphabet`` by ``secrets``."""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def digest(token: str) -> str:
    """What is stored for ``token``: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()
