"""``/v1/admin/…``: a tenant manages its sponsors and their beneficiaries (Bearer API key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from otpgate.core.model import Principal, Scope
from otpgate.destinations import parse_contact
from otpgate.flows.sponsor.channels import CHANNEL_NAMES, DEFAULT_CHANNELS, sponsor_channels
from otpgate.flows.sponsor.model import Beneficiary, Sponsor
from otpgate.web.admin.errors import ROUTE_CLASS
from otpgate.web.routing import principal_of, services_of
from otpgate.web.wire import (
    IDENTIFIER_PATTERN,
    Documented,
    Email,
    IdentifierText,
    Operation,
    PhoneNumber,
    SlugText,
    WireModel,
)


def _scope(caller: Principal) -> Scope:
    """A key manages its own environment's sponsors only: the other's are not found."""
    return Scope(caller.tenant.id, caller.environment)


router = APIRouter(prefix="/v1/admin", route_class=ROUTE_CLASS, tags=["admin"])
Caller = Annotated[Principal, Depends(principal_of)]


class SponsorSpec(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channels: list[Annotated[str, Documented(enum=list(CHANNEL_NAMES))]] = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS),
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
    found = await services_of(request).sponsors.sponsors(_scope(caller))
    return JSONResponse({"sponsors": [sponsor_body(s) for s in found]})


@router.put("/sponsors/{slug}")
async def save_sponsor(
    slug: SlugText, spec: SponsorSpec, request: Request, caller: Caller
) -> JSONResponse:
    saved = await services_of(request).sponsors.save_sponsor(
        _scope(caller),
        slug,
        spec.name,
        sponsor_channels(spec.channels),
        spec.otp_operations,
        spec.active,
    )
    return JSONResponse(sponsor_body(saved))


@router.get("/sponsors/{slug}")
async def get_sponsor(slug: SlugText, request: Request, caller: Caller) -> JSONResponse:
    return JSONResponse(
        sponsor_body(await services_of(request).sponsors.sponsor(_scope(caller), slug))
    )


@router.put("/sponsors/{slug}/beneficiaries/{beneficiary_id}")
async def save_beneficiary(
    slug: SlugText,
    beneficiary_id: IdentifierText,
    spec: BeneficiarySpec,
    request: Request,
    caller: Caller,
) -> JSONResponse:
    contact = parse_contact(spec.phone_number or None, spec.email or None)
    saved = await services_of(request).sponsors.save_beneficiary(
        _scope(caller), slug, beneficiary_id, contact.phone, contact.email
    )
    return JSONResponse(beneficiary_body(slug, saved))


@router.get("/sponsors/{slug}/beneficiaries/{beneficiary_id}")
async def get_beneficiary(
    slug: SlugText, beneficiary_id: IdentifierText, request: Request, caller: Caller
) -> JSONResponse:
    found = await services_of(request).sponsors.beneficiary(_scope(caller), slug, beneficiary_id)
    return JSONResponse(beneficiary_body(slug, found))


@router.delete("/sponsors/{slug}/beneficiaries/{beneficiary_id}", status_code=204)
async def remove_beneficiary(
    slug: SlugText, beneficiary_id: IdentifierText, request: Request, caller: Caller
) -> Response:
    await services_of(request).sponsors.remove_beneficiary(_scope(caller), slug, beneficiary_id)
    return Response(status_code=204)
