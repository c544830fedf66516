"""Bearer access tokens on the sponsor endpoints (API keys are refused here)."""

from __future__ import annotations

from starlette.requests import Request

from otpgate.core.errors import Unauthorized
from otpgate.core.model import Principal
from otpgate.services import Services
from otpgate.web.auth import bearer_token


async def authenticate(request: Request) -> Principal:
    services: Services = request.app.state.services
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("missing access token: send Authorization: Bearer <access_token>")
    if token.startswith(("og_sandbox_", "og_live_")):
        raise Unauthorized(
            "this API takes OAuth access tokens; exchange your key at POST /oauth/token"
        )
    claims = services.oauth.tokens.read(token)
    principal = await services.oauth.clients.principal(claims.key_id)
    if (
        principal is None
        or principal.tenant.id != claims.tenant_id
        or principal.environment is not claims.environment
    ):
        raise Unauthorized("invalid access token")
    return principal


def principal_of(request: Request) -> Principal:
    """The caller :func:`authenticate` found for this request (set by the route class)."""
    principal: Principal = request.state.principal
    return principal
