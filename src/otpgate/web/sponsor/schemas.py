"""Wire schemas of the sponsor OTP API, as the seed document spells them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from otpgate.web.wire import WireModel


class SendRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    beneficiary_id: str = Field(max_length=64)
    sponsor_slug: str = Field(max_length=64)
    channel: str = Field(max_length=16, description="SMS or EMAIL")


class SendResponse(BaseModel):
    otp_id: str
    channel: str
    expires_in: int
    masked_destination: str


class ValidateRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    otp_id: str = Field(max_length=64)
    code: str = Field(max_length=32)


class ValidateResponse(BaseModel):
    otp_verification_token: str
    expires_in: int


class RedeemRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(max_length=200)
    operation: str = Field(max_length=120)
    product_type: str | None = Field(default=None, max_length=64)


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
