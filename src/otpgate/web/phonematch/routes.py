"""``/process/…``: the PhoneMatch gateway's initial, continue and status requests.

Translation only: credentials → tenant, ``service`` → channel, the body → the
gateway service's requests, its results → the document's envelope.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from otpgate.core.errors import InvalidInput, OtpError, Unauthorized
from otpgate.core.model import Principal, Scope
from otpgate.flows.phonematch.rules import OutOfBandOptions
from otpgate.flows.phonematch.service import BeginRequest, new_confirmation
from otpgate.services import Services
from otpgate.web.end_user import end_user_ip
from otpgate.web.phonematch.schemas import (
    ContinueRequest,
    GatewayRequest,
    GatewayResponse,
    OptionalCredentials,
    StatusRequest,
)
from otpgate.web.phonematch.translate import (
    SERVICES,
    Meta,
    begin_body,
    check_body,
    error_response,
    status_body,
    validation_error,
)

BAD_CREDENTIALS = "invalid user or pass"
NOT_JSON = "the request body is not valid JSON text"
_NO_TENANT = "\x00" * 16  # compared against when the key is unknown, to even the timing


class GatewayRoute(APIRoute):
    """Answers validation failures and stray core errors in the gateway's FAIL envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raw = await request.body()  # read already: FastAPI parsed it
                return _fail(request, validation_error(exc, raw), Meta())
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8).
                return _fail(request, InvalidInput("body", NOT_JSON), Meta())
            except OtpError as exc:
                return _fail(request, exc, Meta())

        return guarded


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": GatewayResponse} for code in (400, 401, 404, 413, 429)
}
router = APIRouter(prefix="/process", route_class=GatewayRoute, tags=["PhoneMatch gateway"])


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _fail(request: Request, exc: OtpError, meta: Meta) -> JSONResponse:
    return error_response(exc, meta, new_confirmation(), _services(request).clock.now())


async def _authenticate(services: Services, user: str, password: str) -> Principal:
    """The key names the tenant; ``user`` must be its name. One answer for every failure."""
    principal = await services.accounts.authenticate(password)
    name = principal.tenant.name if principal is not None else _NO_TENANT
    if not hmac.compare_digest(name.encode(), user.encode()) or principal is None:
        raise Unauthorized(BAD_CREDENTIALS)
    return principal


async def _scope_of(services: Services, body: OptionalCredentials) -> Scope | None:
    """The caller's tenant and environment when it sent credentials; the token alone
    otherwise (the PhoneMatch API lets a token stand on its own)."""
    if body.user is None and body.password is None:
        return None
    principal = await _authenticate(services, body.user or "", body.password or "")
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
    services = _services(request)
    meta = Meta(service=body.service, reference=body.reference, user=body.user)
    try:
        principal = await _authenticate(services, body.user, body.password)
        tenant = principal.tenant
        meta = replace(meta, company=tenant.brand or tenant.name)
        channel = SERVICES.get(body.service)
        if channel is None:
            raise InvalidInput(
                "service", f"unknown service {body.service!r}; use one of {', '.join(SERVICES)}"
            )
        result = await services.gateway.begin(
            BeginRequest(
                tenant_id=tenant.id,
                environment=principal.environment,
                channel=channel,
                service=body.service,
                user=body.user,
                company=meta.company or tenant.name,
                reference=body.reference,
                options=_options(body),
                phone=body.target.phone,
                email=body.target.email,
                fn=body.target.fn,
                ln=body.target.ln,
                brand=tenant.brand or services.settings.brand,
                default_locale=tenant.default_locale,
                ip_address=end_user_ip(request),
            )
        )
    except OtpError as exc:
        return _fail(request, exc, meta)
    return JSONResponse(begin_body(result, meta))


@router.post("/continue", response_model=GatewayResponse, responses=ERRORS)
async def continue_request(body: ContinueRequest, request: Request) -> JSONResponse:
    services = _services(request)
    try:
        scope = await _scope_of(services, body)
        result = await services.gateway.check(body.token, body.codematch.key, scope)
    except OtpError as exc:
        return _fail(request, exc, Meta(user=body.user))
    return JSONResponse(check_body(result, body.token))


@router.post("/status", response_model=GatewayResponse, responses=ERRORS)
async def status_request(body: StatusRequest, request: Request) -> JSONResponse:
    services = _services(request)
    try:
        scope = await _scope_of(services, body)
        transaction = await services.gateway.status(body.token, scope)
    except OtpError as exc:
        return _fail(request, exc, Meta(user=body.user))
    return JSONResponse(status_body(transaction, body.token))
