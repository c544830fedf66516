"""Request and response schemas of the evaluation API, named as the guide names them.

The document states what the flow checks after these schemas (contact points, codes, the
one instruction a PATCH carries, the reviewer's values) with ``Documented`` keywords, so
that the checks keep answering in this API's words; ``web/openapi.py`` adds the workflow
names the app loaded.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from otpgate.core.model import JsonObject
from otpgate.flows.evaluation.definitions import DECISIONS, PENDING_OTP_SUB_STATUS
from otpgate.web.wire import Code, Documented, Email, PhoneNumber, PlainJson, WireModel

Text = Annotated[str, StringConstraints(max_length=200)]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
EvalId = Annotated[str, Documented(format="uuid")]
"""The path's ``eval_id`` (checked by the route: any spelling ``uuid.UUID`` reads)."""

_DAY = (
    r"[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29"
)
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?)?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
TIMESTAMP = re.compile(rf"^(?:{_DAY})(?:[Tt ]{_TIME}{_OFFSET}?)?$")
"""What otpgate takes for ``timestamp``: an RFC 3339 date-time or a date alone, the
seconds and the offset optional, a space for the ``T`` (lenient: nothing uses it)."""


def _timestamp(v: str | None) -> str | None:
    if v is not None and not TIMESTAMP.match(v):
        raise ValueError("timestamp must be an RFC 3339 date-time (or a date)")
    return v


Timestamp = Annotated[str, StringConstraints(max_length=40), Documented(pattern=TIMESTAMP.pattern)]


class _Model(WireModel):
    model_config = ConfigDict(extra="ignore")


class OtpInput(_Model):
    code: Annotated[str, StringConstraints(max_length=20)] | None = None
    resend: StrictBool | None = None
    channel: Literal["sms", "voice", "email"] | None = None


class PatchOtpInput(OtpInput):
    code: Annotated[Code, StringConstraints(max_length=20)] | None = None


class Address(_Model):
    line_1: Text | None = None
    line_2: Text | None = None
    locality: Text | None = None
    major_admin_division: Text | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(max_length=2)] | None = None


DETAILS = ("given_name", "family_name", "national_id", "date_of_birth", "address")


class Individual(_Model):
    phone_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    national_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    date_of_birth: Annotated[str, StringConstraints(max_length=10)] | None = None
    address: Address | None = None
    locale: Annotated[str, StringConstraints(max_length=16)] | None = None
    otp: OtpInput | None = None

    def details(self) -> JsonObject:
        """The personal details given, without contact points and OTP instructions."""
        out = self.model_dump(exclude_none=True, exclude={"otp", "phone_number", "email", "locale"})
        if "address" in out and not out["address"]:
            del out["address"]
        return out


def _given(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": "string"}}}


def _channel_needs(channels: list[str], contact: str) -> dict[str, Any]:
    otp = {"type": "object", "required": ["channel"], "properties": {"channel": {"enum": channels}}}
    return {"if": {"required": ["otp"], "properties": {"otp": otp}}, "then": _given(contact)}


class StartIndividual(Individual):
    """The person a POST starts with: a phone number or an email, the one its channel needs."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [_given("phone_number"), _given("email")],
            "allOf": [
                _channel_needs(["sms", "voice"], "phone_number"),
                _channel_needs(["email"], "email"),
            ],
        }
    )

    phone_number: Annotated[PhoneNumber, StringConstraints(max_length=40)] | None = None
    email: Annotated[Email, StringConstraints(max_length=320)] | None = None


class PatchIndividual(Individual):
    otp: PatchOtpInput | None = None


def _ip(v: str | None) -> str | None:
    if v is None:
        return v
    try:
        return str(ipaddress.ip_address(v.strip()))
    except ValueError as exc:
        raise ValueError("ip_address must be an IPv4 or IPv6 address") from exc


IpAddress = Annotated[
    str,
    StringConstraints(max_length=64),
    Documented(anyOf=[{"format": "ipv4"}, {"format": "ipv6"}]),
]


class EvaluationData(_Model):
    individual: PatchIndividual
    ip_address: IpAddress | None = None
    """The end user's address, as the published document has it: the abuse guard limits
    sends per address when it is given."""

    _ip = field_validator("ip_address")(_ip)


class StartData(EvaluationData):
    individual: StartIndividual  # type: ignore[assignment]


class EvaluationRequest(_Model):
    """``POST /api/evaluation``."""

    id: RequestId
    timestamp: Timestamp | None = None
    workflow: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    data: StartData

    _ts = field_validator("timestamp")(_timestamp)


class Actions(_Model):
    resume: StrictBool


def _has(name: str, value: dict[str, Any]) -> dict[str, Any]:
    """An object whose ``name`` is ``value``."""
    return {"type": "object", "required": [name], "properties": {name: value}}


ADDRESS_FIELDS = tuple(Address.model_fields)


def _one_instruction() -> dict[str, Any]:
    """A PATCH carries something to do: resume, a code, a resend or a personal detail (an
    address counts when one of its fields is given)."""
    text = {"type": "string"}
    address = {"anyOf": [_has(name, text) for name in ADDRESS_FIELDS]}
    individual = [
        _has("otp", _has("code", text)),
        _has("otp", _has("resend", {"type": "boolean", "const": True})),
        *(_has(name, address if name == "address" else text) for name in DETAILS),
    ]
    return {
        "anyOf": [
            _has("actions", _has("resume", {"type": "boolean", "const": True})),
            *(_has("data", _has("individual", shape)) for shape in individual),
        ]
    }


class EvaluationPatch(_Model):
    """``PATCH /api/evaluation/{eval_id}``."""

    model_config = ConfigDict(json_schema_extra=_one_instruction())

    id: RequestId
    timestamp: Timestamp | None = None
    workflow: Annotated[str, StringConstraints(max_length=120)] | None = None
    actions: Actions | None = None
    data: EvaluationData | None = None

    _ts = field_validator("timestamp")(_timestamp)


_HELD: dict[str, Any] = {"properties": {"status": {"enum": ["ON HOLD", "ON_HOLD"]}}}
_NOT_PENDING: dict[str, Any] = {
    "properties": {"sub_status": {"not": {"const": PENDING_OTP_SUB_STATUS}}}
}


class EvaluationStateUpdate(_Model):
    """``PUT /api/evaluation/{eval_id}/state``: a reviewer's decision (manual review)."""

    model_config = ConfigDict(json_schema_extra={"if": _HELD, "then": _NOT_PENDING})

    workflow: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    decision: Annotated[
        str, StringConstraints(min_length=1, max_length=20), Documented(enum=list(DECISIONS))
    ] = Field(
        description="ACCEPT, REVIEW or REJECT, in either case (RESUBMIT and CANCEL are refused)"
    )
    status: Annotated[
        str,
        StringConstraints(min_length=1, max_length=20),
        Documented(enum=["OPEN", "ON HOLD", "ON_HOLD", "CLOSED"]),
    ] = Field(description="OPEN, ON HOLD (or ON_HOLD) or CLOSED, in either case")
    sub_status: Text | None = Field(
        default=None,
        description="Any text; `Pending OTP Code` is otpgate's own, and `More information "
        "needed` only for a workflow that asks for personal details",
    )
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None,
        description="Kept with the evaluation (answered in its `notes`); replaces earlier "
        "notes, left out keeps them",
    )
    attachments: (
        Annotated[list[PlainJson], Field(max_length=100), Documented(maxItems=0)] | None
    ) = Field(default=None, description="Not stored by otpgate: a non-empty list is refused")


class Enrichment(BaseModel):
    enrichment_name: str
    enrichment_endpoint: str
    enrichment_provider: str
    status_code: int
    request: dict[str, object]
    response: dict[str, object]
    is_source_cache: bool = False


class EvaluationResponse(BaseModel):
    """The evaluation as it stands (every POST, PATCH and GET answers with it)."""

    id: str
    eval_id: str
    workflow: str
    workflow_id: str
    workflow_version: str
    eval_source: str = "API"
    eval_start_time: str
    eval_end_time: str
    decision: Literal["ACCEPT", "REVIEW", "REJECT"]
    decision_at: str = Field(description="When the current decision was made (RFC 3339)")
    status: Literal["OPEN", "ON_HOLD", "CLOSED"]
    sub_status: str
    tags: list[str]
    notes: str = Field(description="The reviewer's notes (PUT …/state); empty until then")
    review_queues: list[str]
    data_enrichments: list[Enrichment]
    eval_status: Literal["evaluation_paused", "evaluation_in_progress", "evaluation_completed"]
    environment_name: Literal["Sandbox", "Production"]
    attempts_remaining: int | None = Field(description="Code attempts left (otpgate extension)")
    expires_at: str | None = Field(description="When the code expires (otpgate extension)")
    msg: str | None = None


class ErrorResponse(BaseModel):
    msg: str
    field: str | None = None
    retry_after: int | None = None
