"""Request and response schemas of the evaluation API, named as the guide names them."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from otpgate.web.wire import WireModel

Text = Annotated[str, StringConstraints(max_length=200)]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class _Model(WireModel):
    model_config = ConfigDict(extra="ignore")


class OtpInput(_Model):
    code: Annotated[str, StringConstraints(max_length=20)] | None = None
    resend: StrictBool | None = None
    channel: Literal["sms", "voice", "email"] | None = None


class Address(_Model):
    line_1: Text | None = None
    line_2: Text | None = None
    locality: Text | None = None
    major_admin_division: Text | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(max_length=2)] | None = None


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

    def details(self) -> dict[str, object]:
        """The personal details given, without contact points and OTP instructions."""
        out = self.model_dump(exclude_none=True, exclude={"otp", "phone_number", "email", "locale"})
        if "address" in out and not out["address"]:
            del out["address"]
        return out


def _ip(v: str | None) -> str | None:
    if v is None:
        return v
    try:
        return str(ipaddress.ip_address(v.strip()))
    except ValueError as exc:
        raise ValueError("ip_address must be an IPv4 or IPv6 address") from exc


class EvaluationData(_Model):
    individual: Individual
    ip_address: Annotated[str, StringConstraints(max_length=64)] | None = None
    """The end user's address, as the published document has it: the abuse guard limits
    sends per address when it is given."""

    _ip = field_validator("ip_address")(_ip)


def _rfc3339(v: str | None) -> str | None:
    if v is None:
        return v
    try:
        dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError("timestamp must be an RFC 3339 date-time") from exc
    return v


class EvaluationRequest(_Model):
    """``POST /api/evaluation``."""

    id: RequestId
    timestamp: Annotated[str, StringConstraints(max_length=40)] | None = None
    workflow: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    data: EvaluationData

    _ts = field_validator("timestamp")(_rfc3339)


class Actions(_Model):
    resume: StrictBool


class EvaluationPatch(_Model):
    """``PATCH /api/evaluation/{eval_id}``."""

    id: RequestId
    timestamp: Annotated[str, StringConstraints(max_length=40)] | None = None
    workflow: Annotated[str, StringConstraints(max_length=120)] | None = None
    actions: Actions | None = None
    data: EvaluationData | None = None

    _ts = field_validator("timestamp")(_rfc3339)


class EvaluationStateUpdate(_Model):
    """``PUT /api/evaluation/{eval_id}/state``: a reviewer's decision (manual review)."""

    workflow: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    decision: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(
        description="ACCEPT, REVIEW or REJECT (RESUBMIT and CANCEL are refused)"
    )
    status: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(
        description="OPEN, ON HOLD (or ON_HOLD) or CLOSED"
    )
    sub_status: Text | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None,
        description="Kept with the evaluation (answered in its `notes`); replaces earlier "
        "notes, left out keeps them",
    )
    attachments: Annotated[list[object], Field(max_length=100)] | None = Field(
        default=None, description="Not stored by otpgate: a non-empty list is refused"
    )


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
