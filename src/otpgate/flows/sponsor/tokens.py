"""Credentials of the sponsor API.

*Verification tokens* (``otvt_…``) are opaque, random and single use; only their
SHA-256 is stored (they carry ~238 random bits, so a fast hash is the right one).

Access tokens (the OAuth bearer tokens) are JWTs, made and read by
``otpgate.adapters.tokens``.
"""

from __future__ import annotations

import hashlib
import secrets
import string

from ulid import ULID

from otpgate.flows.sponsor.model import OTP_ID_PREFIX, TOKEN_PREFIX

_BASE62 = string.ascii_letters + string.digits


def new_otp_id() -> str:
    return OTP_ID_PREFIX + str(ULID())


def new_verification_token() -> str:
    return TOKEN_PREFIX + str(ULID()) + "".join(secrets.choice(_BASE62) for _ in range(24))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
