"""Authentication, one dependency per kind of credential; each answers ``Unauthorized``.

========================  ==========================================  ======================
credential                where it is sent                            who takes it
========================  ==========================================  ======================
tenant API key            ``Authorization: Bearer og_sandbox_…``      evaluation, outbox,
                          (or ``og_live_…``)                          admin
sponsor access token      ``Authorization: Bearer <JWT>`` from        sponsor API
                          ``POST /oauth/token``
gateway credentials       the body's ``user`` (the tenant's name)     PhoneMatch gateway
                          and ``pass`` (one of its API keys)
========================  ==========================================  ======================

:func:`api_key` and :func:`access_token` take the request, so they serve as a FastAPI
dependency (``Depends(api_key)``) or as a route guard (``routing.authenticated``) where
authentication must come before the body is read; :func:`gateway_credentials` takes what
the gateway's body carries. Each API words the refusal in its own vocabulary.
"""

from __future__ import annotations

from starlette.requests import Request

from otpgate.core.errors import Unauthorized
from otpgate.core.model import Principal
from otpgate.flows.phonematch.catalog import user_names_tenant
from otpgate.services import Services

API_KEY_PREFIXES = ("og_sandbox_", "og_live_")
BAD_CREDENTIALS = "invalid user or pass"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def api_key(request: Request) -> Principal:
    """The tenant API key's caller."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    services: Services = request.app.state.services
    principal = await services.accounts.authenticate(token)
    if principal is None:
        raise Unauthorized("invalid API key")
    return principal


async def access_token(request: Request) -> Principal:
    """The sponsor API's caller: an access token of a key that is still live (API keys
    themselves are refused here)."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("missing access token: send Authorization: Bearer <access_token>")
    if token.startswith(API_KEY_PREFIXES):
        raise Unauthorized(
            "this API takes OAuth access tokens; exchange your key at POST /oauth/token"
        )
    services: Services = request.app.state.services
    claims = services.oauth.tokens.read(token)
    principal = await services.oauth.clients.principal(claims.key_id)
    if (
        principal is None
        or principal.tenant.id != claims.tenant_id
        or principal.environment is not claims.environment
    ):
        raise Unauthorized("invalid access token")
    return principal


async def gateway_credentials(services: Services, user: str, password: str) -> Principal:
    """The gateway's caller: ``password`` is the key, ``user`` its tenant's name. One
    answer for every failure."""
    principal = await services.accounts.authenticate(password)
    named = user_names_tenant(principal.tenant if principal is not None else None, user)
    if principal is None or not named:
        raise Unauthorized(BAD_CREDENTIALS)
    return principal
