"""The sponsor API's OAuth access tokens: JWTs (HS256, PyJWT).

They are signed with the install's signing key (``OTPGATE_OAUTH_SIGNING_KEY``, from the
environment or the secrets file, never the database); during a rotation, tokens signed
with the previous key stay valid. Expiry is checked against the service clock, so tests
can move time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt
from ulid import ULID

from otpgate.core.clock import Clock
from otpgate.core.errors import Unauthorized
from otpgate.core.model import Environment
from otpgate.flows.sponsor.model import AccessClaims, AccessToken

ISSUER = "otpgate"
AUDIENCE = "otpgate:sponsor-api"
ALGORITHM = "HS256"


class AccessTokens:
    def __init__(self, keys: Sequence[bytes], clock: Clock, ttl_seconds: int = 3600) -> None:
        """``keys``: the signing key first, then previous keys still accepted."""
        if not keys or any(len(key) < 32 for key in keys):
            raise ValueError("the access-token signing key must be at least 32 bytes")
        self._key = keys[0]
        self._keys = tuple(keys)
        self.clock = clock
        self.ttl_seconds = ttl_seconds

    def issue(self, key_id: str, tenant_id: str, environment: Environment) -> AccessToken:
        now = int(self.clock.now())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": key_id,
            "tid": tenant_id,
            "env": str(environment),
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": str(ULID()),
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        return AccessToken(access_token=token, expires_in=self.ttl_seconds)

    def read(self, token: str) -> AccessClaims:
        """The claims of a genuine, unexpired token; ``Unauthorized`` for anything else."""
        try:
            claims = self._decode(token)
            expires_at = float(claims["exp"])
            environment = Environment(claims["env"])
            key_id, tenant_id = str(claims["sub"]), str(claims["tid"])
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("invalid access token") from exc
        if self.clock.now() >= expires_at:
            raise Unauthorized("the access token has expired")
        return AccessClaims(key_id, tenant_id, environment, expires_at)

    def _decode(self, token: str) -> dict[str, Any]:
        for key in self._keys[:-1]:
            try:
                return self._decode_with(token, key)
            except jwt.InvalidSignatureError:
                continue
        return self._decode_with(token, self._keys[-1])

    @staticmethod
    def _decode_with(token: str, key: bytes) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": ["exp", "iat", "sub", "aud", "iss"],
                # Time is checked in ``read`` against the service clock, not the wall clock.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        return claims
