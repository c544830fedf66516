"""``/v1/admin/…``: a tenant manages its sponsors and their beneficiaries (Bearer API key)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ConfigDict, Field

from otpgate.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OtpError,
    RateLimited,
    Unauthorized,
)
from otpgate.core.model import Channel, Principal, Scope
from otpgate.destinations import parse_email, parse_phone
from otpgate.flows.sponsor.model import Beneficiary, Sponsor
from otpgate.flows.sponsor.service import SponsorService
from otpgate.web.auth import require_key
from otpgate.web.wire import (
    IDENTIFIER_PATTERN,
    Documented,
    Email,
    IdentifierText,
    Operation,
    PhoneNumber,
    SlugText,
    WireModel,
    field_name,
)

STATUS: dict[type[OtpError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}
WIRE_CHANNELS = {"SMS": Channel.SMS, "EMAIL": Channel.EMAIL}


def _error(exc: OtpError) -> JSONResponse:
    status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 400)
    body: dict[str, Any] = {"msg": exc.message}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInput):
        body["field"] = exc.field
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, headers=headers)


def _invalid(exc: RequestValidationError) -> JSONResponse:
    first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
    field = field_name(tuple(first.get("loc", ())))
    if first.get("type") in ("json_invalid", "model_attributes_type"):
        return JSONResponse({"msg": "the body must be a JSON object", "field": "body"}, 400)
    msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return JSONResponse({"msg": f"{field}: {msg}", "field": field}, status_code=400)


class AdminRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                request.state.principal = await require_key(request)
                return await handler(request)
            except RequestValidationError as exc:
                return _invalid(exc)
            except OtpError as exc:
                return _error(exc)

        return guarded


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _scope(caller: Principal) -> Scope:
    """A key manages its own environment's sponsors only: the other's are not found."""
    return Scope(caller.tenant.id, caller.environment)


router = APIRouter(prefix="/v1/admin", route_class=AdminRoute, tags=["admin"])
Caller = Annotated[Principal, Depends(_principal)]


class SponsorSpec(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channels: list[Annotated[str, Documented(enum=list(WIRE_CHANNELS))]] = Field(
        default_factory=lambda: ["SMS"],
        min_length=1,
        max_length=2,
        description="SMS and/or EMAIL, in either case",
    )
    otp_operations: Annotated[
        dict[str, list[Operation]], Documented(propertyNames={"pattern": IDENTIFIER_PATTERN})
    ] = Field(
        default_factory=dict,
        max_length=100,
        description="Product type → the operations that need an OTP for it",
    )
    active: bool = True


def _given(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": "string"}}}


class BeneficiarySpec(WireModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [_given("phone_number"), _given("email")]},
    )

    phone_number: PhoneNumber | None = Field(default=None, max_length=40)
    email: Email | None = Field(default=None, max_length=320)


def _service(request: Request) -> SponsorService:
    service: SponsorService = request.app.state.services.sponsors
    return service


def sponsor_body(sponsor: Sponsor) -> dict[str, Any]:
    return {
        "slug": sponsor.slug,
        "name": sponsor.name,
        "channels": [c.upper() for c in sponsor.channels],
        "otp_operations": {k: list(v) for k, v in sponsor.otp_operations.items()},
        "active": sponsor.active,
    }


def beneficiary_body(sponsor_slug: str, beneficiary: Beneficiary) -> dict[str, Any]:
    """On-file destinations come back masked: the tenant sent them, nobody needs them back."""
    return {
        "sponsor_slug": sponsor_slug,
        "beneficiary_id": beneficiary.beneficiary_id,
        "phone_number": beneficiary.phone.masked() if beneficiary.phone else None,
        "email": beneficiary.email.masked() if beneficiary.email else None,
    }


@router.get("/oauth-client")
async def oauth_client(caller: Caller) -> JSONResponse:
    """The client id to pair with this API key at ``POST /oauth/token``."""
    return JSONResponse({"client_id": caller.key_id, "environment": str(caller.environment)})


@router.get("/sponsors")
async def list_sponsors(request: Request, caller: Caller) -> JSONResponse:
    found = await _service(request).sponsors(_scope(caller))
    return JSONResponse({"sponsors": [sponsor_body(s) for s in found]})


@router.put("/sponsors/{slug}")
async def save_sponsor(
    slug: SlugText, spec: SponsorSpec, request: Request, caller: Caller
) -> JSONResponse:
    channels = []
    for raw in spec.channels:
        channel = WIRE_CHANNELS.get(raw.strip().upper())
        if channel is None:
            raise InvalidInput("channels", "channels must be SMS and/or EMAIL")
        channels.append(channel)
    saved = await _service(request).save_sponsor(
        _scope(caller), slug, spec.name, channels, spec.otp_operations, spec.active
    )
    return JSONResponse(sponsor_body(saved))


@router.get("/sponsors/{slug}")
async def get_sponsor(slug: SlugText, request: Request, caller: Caller) -> JSONResponse:
    return JSONResponse(sponsor_body(await _service(request).sponsor(_scope(caller), slug)))


@router.put("/sponsors/{slug}/beneficiaries/{beneficiary_id}")
async def save_beneficiary(
    slug: SlugText,
    beneficiary_id: IdentifierText,
    spec: BeneficiarySpec,
    request: Request,
    caller: Caller,
) -> JSONResponse:
    if spec.phone_number is None and spec.email is None:
        raise InvalidInput("phone_number", "a beneficiary needs a phone_number or an email")
    phone = parse_phone(spec.phone_number, "phone_number") if spec.phone_number else None
    email = parse_email(spec.email, "email") if spec.email else None
    saved = await _service(request).save_beneficiary(
        _scope(caller), slug, beneficiary_id, phone, email
    )
    return JSONResponse(beneficiary_body(slug, saved))


@router.get("/sponsors/{slug}/beneficiaries/{beneficiary_id}")
async def get_beneficiary(
    slug: SlugText, beneficiary_id: IdentifierText, request: Request, caller: Caller
) -> JSONResponse:
    found = await _service(request).beneficiary(_scope(caller), slug, beneficiary_id)
    return JSONResponse(beneficiary_body(slug, found))


@router.delete("/sponsors/{slug}/beneficiaries/{beneficiary_id}", status_code=204)
async def remove_beneficiary(
    slug: SlugText, beneficiary_id: IdentifierText, request: Request, caller: Caller
) -> Response:
    await _service(request).remove_beneficiary(_scope(caller), slug, beneficiary_id)
    return Response(status_code=204)
