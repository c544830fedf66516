"""``/process/…``: the PhoneMatch gateway's initial, continue and status requests.

Translation only: credentials → tenant, ``service`` → channel, the body → the
gateway service's requests, its results → the document's envelope.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from otpgate.core import branding
from otpgate.core.model import Scope
from otpgate.flows.phonematch.catalog import channel_for
from otpgate.flows.phonematch.rules import OutOfBandOptions
from otpgate.flows.phonematch.service import BeginRequest
from otpgate.services import Services
from otpgate.web.auth import gateway_credentials
from otpgate.web.end_user import end_user_ip
from otpgate.web.fastlane import HotRoute
from otpgate.web.phonematch import errors
from otpgate.web.phonematch.errors import so_far
from otpgate.web.phonematch.schemas import (
    ContinueRequest,
    GatewayRequest,
    GatewayResponse,
    OptionalCredentials,
    StatusRequest,
)
from otpgate.web.phonematch.translate import Meta, begin_body, check_body, status_body
from otpgate.web.routing import WebApi, services_of

GATEWAY = WebApi(
    name="Gateway", errors=errors.ERROR_TABLE, render=errors.render, invalid=errors.invalid
)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": GatewayResponse} for code in (400, 401, 404, 413, 429)
}
router = APIRouter(
    prefix="/process", route_class=GATEWAY.route_class(), tags=["PhoneMatch gateway"]
)


async def _scope_of(services: Services, body: OptionalCredentials) -> Scope | None:
    """The caller's tenant and environment when it sent credentials; the token alone
    otherwise (the PhoneMatch API lets a token stand on its own)."""
    if body.user is None and body.password is None:
        return None
    principal = await gateway_credentials(services, body.user or "", body.password or "")
    return Scope(principal.tenant.id, principal.environment)


def _options(body: GatewayRequest) -> OutOfBandOptions:
    oob = body.options.outofband if body.options else None
    if oob is None:
        return OutOfBandOptions()
    country = oob.country
    return OutOfBandOptions.checked(
        message=oob.message,
        excluded_line_types=tuple(oob.do_not_send_to_types),
        blacklist=tuple(country.blacklist) if country else (),
        whitelist=tuple(country.whitelist) if country else (),
    )


@router.post("/comprehensive/gateway", response_model=GatewayResponse, responses=ERRORS)
async def initial_request(body: GatewayRequest, request: Request) -> JSONResponse:
    services = services_of(request)
    meta = Meta(service=body.service, reference=body.reference, user=body.user)
    so_far(request, meta)
    principal = await gateway_credentials(services, body.user, body.password)
    tenant = principal.tenant
    company = branding.company(tenant)
    meta = replace(meta, company=company)
    so_far(request, meta)
    result = await services.gateway.begin(
        BeginRequest(
            tenant_id=tenant.id,
            environment=principal.environment,
            channel=channel_for(body.service),
            service=body.service,
            user=body.user,
            company=company,
            reference=body.reference,
            options=_options(body),
            phone=body.target.phone,
            email=body.target.email,
            fn=body.target.fn,
            ln=body.target.ln,
            brand=branding.message_brand(tenant, services.settings.brand),
            default_locale=tenant.default_locale,
            ip_address=end_user_ip(request),
        )
    )
    return JSONResponse(begin_body(result, meta))


@router.post("/continue", response_model=GatewayResponse, responses=ERRORS)
async def continue_request(body: ContinueRequest, request: Request) -> JSONResponse:
    services = services_of(request)
    so_far(request, Meta(user=body.user))
    scope = await _scope_of(services, body)
    result = await services.gateway.check(body.token, body.codematch.key, scope)
    return JSONResponse(check_body(result, body.token))


@router.post("/status", response_model=GatewayResponse, responses=ERRORS)
async def status_request(body: StatusRequest, request: Request) -> JSONResponse:
    services = services_of(request)
    so_far(request, Meta(user=body.user))
    scope = await _scope_of(services, body)
    transaction = await services.gateway.status(body.token, scope)
    return JSONResponse(status_body(transaction, body.token))


# The initial and continue requests on the fast lane (web/fastlane.py): the same handlers.
async def _hot_initial(request: Request, body: GatewayRequest) -> JSONResponse:
    return await initial_request(body, request)


async def _hot_continue(request: Request, body: ContinueRequest) -> JSONResponse:
    return await continue_request(body, request)


HOT = (
    HotRoute("POST", "/process/comprehensive/gateway", GATEWAY, _hot_initial, GatewayRequest),
    HotRoute("POST", "/process/continue", GATEWAY, _hot_continue, ContinueRequest),
)
