"""``/v1/otp/send``, ``/v1/otp/validate``, token redemption and sponsor configuration."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from otpgate.core.errors import OtpError
from otpgate.core.model import Principal, Scope
from otpgate.flows.sponsor.channels import send_channel
from otpgate.flows.sponsor.configuration import otp_rules
from otpgate.flows.sponsor.model import ClientBudget
from otpgate.flows.sponsor.service import SendOtp
from otpgate.web.auth import access_token
from otpgate.web.end_user import end_user_ip
from otpgate.web.fastlane import HotRoute
from otpgate.web.routing import Handler, WebApi, principal_of, services_of
from otpgate.web.sponsor import errors
from otpgate.web.sponsor.schemas import (
    ConfigurationResponse,
    ErrorResponse,
    RedeemRequest,
    RedeemResponse,
    SendRequest,
    SendResponse,
    ValidateRequest,
    ValidateResponse,
)
from otpgate.web.wire import PlainText, SlugText


def _client(request: Request) -> ClientBudget:
    """This request's charge against its client's budget (set by :func:`_admitted`)."""
    client: ClientBudget = request.state.client
    return client


async def _admitted(handler: Handler, request: Request) -> Response:
    """Authenticates and admits the client first (before the body is read), then runs the
    handler; a request that fails is charged to its client all the same."""
    principal = request.state.principal = await access_token(request)
    service = services_of(request).sponsors
    client = request.state.client = await service.admit(principal.key_id)
    try:
        return await handler(request)
    except (RequestValidationError, OtpError, HTTPException):
        # Charged by its use case only if that committed; otherwise now (a spent budget
        # answers 429 instead, as it would have first).
        await service.settle(client)
        raise


SPONSOR = WebApi(
    name="Sponsor",
    errors=errors.ERROR_TABLE,
    render=errors.render,
    invalid=errors.invalid,
    guard=_admitted,
)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 410, 422, 429, 502)
}
router = APIRouter(route_class=SPONSOR.route_class(), tags=["sponsor"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal_of)]


def _iso(ts: float) -> str:
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


@router.post("/v1/otp/send", response_model=SendResponse)
async def send_otp(body: SendRequest, request: Request, caller: Caller) -> JSONResponse:
    sent = await services_of(request).sponsors.send(
        SendOtp(
            tenant_id=caller.tenant.id,
            environment=caller.environment,
            sponsor_slug=body.sponsor_slug,
            beneficiary_id=body.beneficiary_id,
            channel=send_channel(body.channel),
            default_locale=caller.tenant.default_locale,
            ip_address=end_user_ip(request),
        ),
        _client(request),
    )
    return JSONResponse(
        {
            "otp_id": sent.otp_id,
            "channel": sent.channel.upper(),
            "expires_in": sent.expires_in,
            "masked_destination": sent.masked_destination,
        }
    )


@router.post("/v1/otp/validate", response_model=ValidateResponse)
async def validate_otp(body: ValidateRequest, request: Request, caller: Caller) -> JSONResponse:
    issued = await services_of(request).sponsors.validate(
        caller.tenant.id, caller.environment, body.otp_id, body.code, _client(request)
    )
    return JSONResponse(
        {"otp_verification_token": issued.otp_verification_token, "expires_in": issued.expires_in}
    )


@router.post("/v1/otp/verification-tokens/redeem", response_model=RedeemResponse)
async def redeem_token(body: RedeemRequest, request: Request, caller: Caller) -> JSONResponse:
    done = await services_of(request).sponsors.redeem(
        caller.tenant.id,
        caller.environment,
        body.token,
        body.operation,
        body.product_type,
        _client(request),
    )
    return JSONResponse(
        {
            "verified": True,
            "otp_id": done.otp_id,
            "sponsor_slug": done.sponsor_slug,
            "beneficiary_id": done.beneficiary_id,
            "channel": done.channel.upper(),
            "operation": done.operation,
            "verified_at": _iso(done.verified_at),
            "redeemed_at": _iso(done.redeemed_at),
        }
    )


@router.get("/v1/sponsors/{slug}/configuration", response_model=ConfigurationResponse)
async def sponsor_configuration(
    slug: SlugText,
    request: Request,
    caller: Caller,
    product_type: Annotated[PlainText | None, Query(max_length=64)] = None,
) -> JSONResponse:
    service = services_of(request).sponsors
    scope = Scope(caller.tenant.id, caller.environment)
    sponsor = await service.sponsor(scope, slug, _client(request))
    return JSONResponse(
        {
            "sponsor_slug": sponsor.slug,
            "name": sponsor.name,
            "otp_enabled": sponsor.active,
            "otp_channels": [c.upper() for c in sponsor.channels],
            "otp_expires_in": service.policy.otp_ttl_seconds,
            "otp_max_attempts": service.policy.max_attempts,
            "product_types": [
                {
                    "product_type": rule.product_type,
                    "operations_requiring_otp": list(rule.operations_requiring_otp),
                }
                for rule in otp_rules(sponsor, product_type)
            ],
        }
    )


# Sends and validations on the fast lane (web/fastlane.py): the same handlers, behind the
# same guard (authenticated and admitted before the handler runs).
async def _hot_send(request: Request, body: SendRequest) -> JSONResponse:
    return await send_otp(body, request, principal_of(request))


async def _hot_validate(request: Request, body: ValidateRequest) -> JSONResponse:
    return await validate_otp(body, request, principal_of(request))


HOT = (
    HotRoute("POST", "/v1/otp/send", SPONSOR, _hot_send, SendRequest),
    HotRoute("POST", "/v1/otp/validate", SPONSOR, _hot_validate, ValidateRequest),
)
