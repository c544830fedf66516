"""The gateway's wire schemas, as its document names them.

The document states what ``flows/phonematch/rules.py`` checks (message templates, line
types, country codes) and what ``web/phonematch/routes.py`` does with ``service``, with
the same constants; those checks answer in the gateway's own words.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from otpgate.flows.phonematch.catalog import SERVICES
from otpgate.flows.phonematch.rules import LINE_TYPES, MAX_MESSAGE
from otpgate.web.wire import NO_CONTROL_MULTILINE, Documented, PlainJson, WireModel

CountryCode = Annotated[
    str,
    Documented(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, in either case"),
]
LineType = Annotated[str, Documented(enum=list(LINE_TYPES), description="In either case")]
_TEXT = NO_CONTROL_MULTILINE.removeprefix("^[^").removesuffix("]*$")
# {pin} once at least; {fn} and {ln} may appear too; no other braces.
TEMPLATE = rf"^(?:[^{{}}{_TEXT}]|\{{(?:fn|ln)\}})*\{{pin\}}(?:[^{{}}{_TEXT}]|\{{(?:fn|ln|pin)\}})*$"
Template = Annotated[
    str,
    Documented(
        pattern=TEMPLATE,
        maxLength=MAX_MESSAGE,
        description="The SMS text: `{pin}` where the code goes, `{fn}` and `{ln}` for "
        "target.fn and target.ln (which must then be given); no other braces.",
    ),
]


class CountryLists(WireModel):
    blacklist: list[CountryCode] = Field(default_factory=list, max_length=300)
    whitelist: list[CountryCode] = Field(default_factory=list, max_length=300)


class OutOfBand(WireModel):
    multiline_fields: ClassVar[frozenset[str]] = frozenset({"message"})

    message: Template | None = Field(default=None, max_length=2000)
    do_not_send_to_types: list[LineType] = Field(default_factory=list, max_length=10)
    country: CountryLists | None = None


class Options(WireModel):
    outofband: OutOfBand | None = None


class Target(WireModel):
    """The individual; the phone (or email) is checked by the service: a bad one fails
    the data check rather than the request."""

    fn: str | None = Field(default=None, max_length=100)
    ln: str | None = Field(default=None, max_length=100)
    phone: PlainJson = Field(
        default=None, description="A phone number (national numbers are read as US ones)"
    )
    email: PlainJson = Field(default=None, description="An email, for PhoneMatch5.0.Email")


class Credentials(WireModel):
    model_config = ConfigDict(populate_by_name=True)

    user: str = Field(min_length=1, max_length=120)
    password: str = Field(alias="pass", min_length=1, max_length=200)


def _needs_name(name: str) -> dict[str, Any]:
    """A message using ``{fn}`` (or ``{ln}``) needs a target.fn (ln) that is not blank."""
    message = {"type": "string", "pattern": "\\{" + name + "\\}"}
    uses = {
        "required": ["options"],
        "properties": {
            "options": {
                "type": "object",
                "required": ["outofband"],
                "properties": {
                    "outofband": {
                        "type": "object",
                        "required": ["message"],
                        "properties": {"message": message},
                    }
                },
            }
        },
    }
    named = {"type": "string", "pattern": "\\S"}
    return {
        "if": uses,
        "then": {
            "required": ["target"],
            "properties": {"target": {"required": [name], "properties": {name: named}}},
        },
    }


class GatewayRequest(Credentials):
    model_config = ConfigDict(json_schema_extra={"allOf": [_needs_name("fn"), _needs_name("ln")]})

    service: Annotated[str, Documented(enum=list(SERVICES))] = Field(
        max_length=64, examples=["PhoneMatch5.0.SMS"]
    )
    reference: str | None = Field(default=None, max_length=255)
    target: Target = Field(default_factory=Target)
    options: Options | None = None


class Codematch(WireModel):
    key: str = Field(max_length=64, description="The code; a malformed one fails the match")


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
