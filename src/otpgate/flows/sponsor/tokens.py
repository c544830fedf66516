"""Credentials of the sponsor API.

*Verification tokens* (``otvt_…``) are opaque, random and single use; only their
SHA-256 is stored (they carry ~238 random bits, so a fast hash is the right one).

Access tokens (the OAuth bearer tokens) are JWTs, made and read by
``otpgate.adapters.tokens``.
"""

from __future__ import annotations

from ulid import ULID

from otpgate.core.opaque import digest, random_token
from otpgate.flows.sponsor.model import OTP_ID_PREFIX, TOKEN_PREFIX


def new_otp_id() -> str:
    return OTP_ID_PREFIX + str(ULID())


def new_verification_token() -> str:
    return random_token(24, prefix=TOKEN_PREFIX + str(ULID()))


def hash_token(token: str) -> str:
    return digest(token)
