"""Credentials of the sponsor API.

*otp ids* (``otp_`` and a ULID) name one send. *Verification tokens* (``otvt_``, a ULID
and 24 random base62 characters) are opaque, random and single use; only their SHA-256 is
stored (they carry ~238 random bits, so a fast hash is the right one). The ULIDs come
from an id maker the wiring injects (``otpgate.adapters.ids``): the flow imports no
third-party package.

Access tokens (the OAuth bearer tokens) are JWTs, made and read by
``otpgate.adapters.tokens``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from otpgate.core.opaque import digest, random_token
from otpgate.flows.sponsor.model import OTP_ID_PREFIX, TOKEN_PREFIX, ULID


@dataclass(frozen=True, slots=True)
class SponsorIds:
    """Makes otp ids and verification tokens around the ULIDs ``ulid`` returns."""

    ulid: Callable[[], str]
    """A new ULID in its 26-character Crockford base32 form."""

    def _ulid(self) -> str:
        made = self.ulid()
        if not ULID.fullmatch(made):
            raise ValueError(f"the id maker returned {made!r}, not a 26-character ULID")
        return made

    def otp_id(self) -> str:
        return OTP_ID_PREFIX + self._ulid()

    def verification_token(self) -> str:
        return random_token(24, prefix=TOKEN_PREFIX + self._ulid())


def hash_token(token: str) -> str:
    return digest(token)
