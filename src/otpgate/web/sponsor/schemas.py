"""Wire schemas of the sponsor OTP API, as the seed document spells them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from otpgate.web.wire import (
    Code,
    Documented,
    Identifier,
    Operation,
    OtpId,
    Slug,
    VerificationToken,
    WireModel,
)

WireChannel = Annotated[
    str,
    Documented(
        enum=["SMS", "EMAIL"],
        description="In either case; another channel (VOICE, WHATSAPP, …) answers 422 "
        "channel_not_supported",
    ),
]


class SendRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    beneficiary_id: Identifier = Field(max_length=64)
    sponsor_slug: Slug = Field(max_length=64)
    channel: WireChannel = Field(max_length=16)


class SendResponse(BaseModel):
    otp_id: str
    channel: str
    expires_in: int
    masked_destination: str


class ValidateRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    otp_id: OtpId = Field(max_length=64)
    code: Code = Field(max_length=32)


class ValidateResponse(BaseModel):
    otp_verification_token: str
    expires_in: int


class RedeemRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    token: VerificationToken = Field(max_length=200)
    operation: Operation = Field(max_length=120)
    product_type: Identifier | None = Field(default=None, max_length=64)


class RedeemResponse(BaseModel):
    verified: bool
    otp_id: str
    sponsor_slug: str
    beneficiary_id: str
    channel: str
    operation: str
    verified_at: str
    redeemed_at: str


class ProductTypeRules(BaseModel):
    product_type: str
    operations_requiring_otp: list[str]


class ConfigurationResponse(BaseModel):
    sponsor_slug: str
    name: str
    otp_enabled: bool
    otp_channels: list[str]
    otp_expires_in: int
    otp_max_attempts: int
    product_types: list[ProductTypeRules]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class ErrorResponse(BaseModel):
    error_code: str
    message: str
