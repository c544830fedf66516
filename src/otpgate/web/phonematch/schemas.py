"""The gateway's wire schemas, as its document names them."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from otpgate.web.wire import WireModel


class CountryLists(WireModel):
    blacklist: list[str] = Field(default_factory=list, max_length=300)
    whitelist: list[str] = Field(default_factory=list, max_length=300)


class OutOfBand(WireModel):
    multiline_fields: ClassVar[frozenset[str]] = frozenset({"message"})

    message: str | None = Field(default=None, max_length=2000)
    do_not_send_to_types: list[str] = Field(default_factory=list, max_length=10)
    country: CountryLists | None = None


class Options(WireModel):
    outofband: OutOfBand | None = None


class Target(WireModel):
    """The individual; the phone (or email) is checked by the service: a bad one fails
    the data check rather than the request."""

    fn: str | None = Field(default=None, max_length=100)
    ln: str | None = Field(default=None, max_length=100)
    phone: Any = None
    email: Any = None


class Credentials(WireModel):
    model_config = ConfigDict(populate_by_name=True)

    user: str = Field(min_length=1, max_length=120)
    password: str = Field(alias="pass", min_length=1, max_length=200)


class GatewayRequest(Credentials):
    service: str = Field(max_length=64, examples=["PhoneMatch5.0.SMS"])
    reference: str | None = Field(default=None, max_length=255)
    target: Target = Field(default_factory=Target)
    options: Options | None = None


class Codematch(WireModel):
    key: str | None = Field(default=None, max_length=64)


class OptionalCredentials(WireModel):
    """Not in the document; when given they must match the token's tenant."""

    model_config = ConfigDict(populate_by_name=True)

    user: str | None = Field(default=None, max_length=120)
    password: str | None = Field(default=None, alias="pass", max_length=200)


class ContinueRequest(OptionalCredentials):
    token: str = Field(max_length=64)
    codematch: Codematch


class StatusRequest(OptionalCredentials):
    token: str = Field(max_length=64)


class Result(BaseModel):
    action: str = Field(examples=["PENDING"])
    detail: str = Field(examples=["TRANSACTION REQUIRES FURTHER ATTENTION"])
    issues: list[str]


class Meta(BaseModel):
    confirmation: int
    reference: str | None
    service: str | None
    timestamp: str = Field(examples=["2019-01-07 12:35:09"])
    company: str | None
    user: str | None


class GatewayResponse(BaseModel):
    """The envelope of every answer; ``continuations`` and ``final`` appear when usable."""

    output: dict[str, Any]
    meta: Meta
    result: Result
    continuations: dict[str, Any] | None = None
    final: dict[str, Any] | None = None
