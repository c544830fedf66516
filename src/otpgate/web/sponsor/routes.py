"""``/v1/otp/send``, ``/v1/otp/validate``, token redemption and sponsor configuration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from otpgate.core.errors import InvalidInput, OtpError
from otpgate.core.model import Channel, Principal, Scope
from otpgate.flows.sponsor.errors import ChannelUnavailable
from otpgate.flows.sponsor.model import ClientBudget
from otpgate.flows.sponsor.service import SendOtp, SponsorService
from otpgate.web.end_user import end_user_ip
from otpgate.web.sponsor.auth import authenticate, principal_of
from otpgate.web.sponsor.errors import error_body, error_response, validation_response
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

WIRE_CHANNELS = {"SMS": Channel.SMS, "EMAIL": Channel.EMAIL}


class SponsorRoute(APIRoute):
    """Authenticates and admits the client first, then maps errors to this API's bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                principal = await authenticate(request)
                request.state.principal = principal
                service = _service(request)
                client = request.state.client = await service.admit(principal.key_id)
                try:
                    return await handler(request)
                except (RequestValidationError, OtpError, HTTPException):
                    # Charged by its use case only if that committed; otherwise now (a
                    # spent budget answers 429 instead, as it would have first).
                    await service.settle(client)
                    raise
            except RequestValidationError as exc:
                return validation_response(exc)
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8).
                return error_body(400, "071-201", "malformed request: the body is not valid JSON")
            except OtpError as exc:
                return error_response(exc)

        return guarded


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 410, 422, 429, 502)
}
router = APIRouter(route_class=SponsorRoute, tags=["sponsor"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal_of)]


def _service(request: Request) -> SponsorService:
    service: SponsorService = request.app.state.services.sponsors
    return service


def _client(request: Request) -> ClientBudget:
    """This request's charge against its client's budget (set by the route class)."""
    client: ClientBudget = request.state.client
    return client


def _channel(raw: str) -> Channel:
    """A missing channel is malformed (400 071-201); one otpgate's sponsors never offer
    (``VOICE``, ``WHATSAPP``, …) is unsupported, which the document answers with 422."""
    name = raw.strip().upper()
    if not name:
        raise InvalidInput("channel", "malformed request: channel is required")
    channel = WIRE_CHANNELS.get(name)
    if channel is None:
        raise ChannelUnavailable(f"channel {name[:16]!r} is not supported: use SMS or EMAIL")
    return channel


def _iso(ts: float) -> str:
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


@router.post("/v1/otp/send", response_model=SendResponse)
async def send_otp(body: SendRequest, request: Request, caller: Caller) -> JSONResponse:
    sent = await _service(request).send(
        SendOtp(
            tenant_id=caller.tenant.id,
            environment=caller.environment,
            sponsor_slug=body.sponsor_slug,
            beneficiary_id=body.beneficiary_id,
            channel=_channel(body.channel),
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
    issued = await _service(request).validate(
        caller.tenant.id, caller.environment, body.otp_id, body.code, _client(request)
    )
    return JSONResponse(
        {"otp_verification_token": issued.otp_verification_token, "expires_in": issued.expires_in}
    )


@router.post("/v1/otp/verification-tokens/redeem", response_model=RedeemResponse)
async def redeem_token(body: RedeemRequest, request: Request, caller: Caller) -> JSONResponse:
    done = await _service(request).redeem(
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
    service = _service(request)
    scope = Scope(caller.tenant.id, caller.environment)
    sponsor = await service.sponsor(scope, slug, _client(request))
    rules = dict(sponsor.otp_operations)
    if product_type is not None:
        rules = {product_type: rules.get(product_type, ())}
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
                    "product_type": name,
                    "operations_requiring_otp": list(ops) if sponsor.active else [],
                }
                for name, ops in sorted(rules.items())
            ],
        }
    )
