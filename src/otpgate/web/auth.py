"""Bearer API keys: ``Authorization: Bearer og_sandbox_…`` or ``og_live_…``."""

from __future__ import annotations

from starlette.requests import Request

from otpgate.core.errors import Unauthorized
from otpgate.core.model import Principal


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def require_key(request: Request) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    principal: Principal | None = await request.app.state.services.accounts.authenticate(token)
    if principal is None:
        raise Unauthorized("invalid API key")
    return principal
