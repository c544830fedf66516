"""Gateway results and errors → the document's action/detail vocabulary, in tables.

PENDING carries the detail of the document's table, ``TRANSACTION REQUIRES FURTHER
ATTENTION`` (its sample response shows ``MORE INFORMATION IS REQUIRED``): the table is
the document's list of "all values that will be returned".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from otpgate.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OtpError,
    RateLimited,
    Unauthorized,
)
from otpgate.core.model import Channel
from otpgate.flows.phonematch.records import FinalOutcome, Transaction
from otpgate.flows.phonematch.service import (
    EXPIRED_ISSUE,
    MAX_ATTEMPTS_ISSUE,
    BeginResult,
    CheckOutcome,
    CheckResult,
    SendOutcome,
)
from otpgate.web.wire import field_name

PASS, FAIL, PENDING = "PASS", "FAIL", "PENDING"
OUT_OF_BAND_FAILED = "FAILED OUT-OF-BAND CHECK"
CONTINUE_URL = "/process/continue"
STATUS_URL = "/process/status"

SERVICES: dict[str, Channel] = {
    "PhoneMatch5.0.SMS": Channel.SMS,
    "PhoneMatch5.0.Voice": Channel.VOICE,
    "PhoneMatch5.0.Email": Channel.EMAIL,
}

SEND_ANSWERS: dict[SendOutcome, tuple[str, str]] = {
    SendOutcome.SENT: (PENDING, "TRANSACTION REQUIRES FURTHER ATTENTION"),
    SendOutcome.SUPPRESSED: (FAIL, "SUPPRESSED SENDING CODE"),
    SendOutcome.DATA_CHECK_FAILED: (FAIL, "DATA CHECK FAILED"),
    SendOutcome.UNDELIVERED: (FAIL, "FAILED TO SEND TO NUMBER"),
}

CHECK_ANSWERS: dict[CheckOutcome, tuple[str, str]] = {
    CheckOutcome.MATCHED: (PASS, "ALL CHECKS PASSED"),
    CheckOutcome.MISMATCHED: (FAIL, OUT_OF_BAND_FAILED),
    CheckOutcome.MAX_ATTEMPTS: (FAIL, OUT_OF_BAND_FAILED),
    CheckOutcome.EXPIRED: (FAIL, OUT_OF_BAND_FAILED),
    CheckOutcome.CLOSED: (FAIL, OUT_OF_BAND_FAILED),
}

FINAL_ANSWERS: dict[FinalOutcome, tuple[str, str]] = {
    FinalOutcome.MATCHED: (PASS, "ALL CHECKS PASSED"),
    FinalOutcome.MAX_ATTEMPTS: (FAIL, OUT_OF_BAND_FAILED),
    FinalOutcome.EXPIRED: (FAIL, OUT_OF_BAND_FAILED),
}

FINAL_ISSUES: dict[FinalOutcome, list[str]] = {
    FinalOutcome.MATCHED: [],
    FinalOutcome.MAX_ATTEMPTS: [MAX_ATTEMPTS_ISSUE],
    FinalOutcome.EXPIRED: [EXPIRED_ISSUE],
}

# Request errors: HTTP status and detail (otpgate's own; the document lists none).
ERROR_ANSWERS: dict[type[OtpError], tuple[int, str]] = {
    InvalidInput: (400, "INVALID REQUEST"),
    Unauthorized: (401, "AUTHENTICATION FAILED"),
    Forbidden: (403, "NOT ALLOWED"),
    NotFound: (404, "INVALID TOKEN"),
    Conflict: (409, "CONFLICT"),
    RateLimited: (429, "TOO MANY REQUESTS"),
}

INSTRUCTIONS = {
    Channel.SMS: "A code has been delivered to the provided number.  "
    "Please resubmit the code to complete the transaction.",
    Channel.VOICE: "A code has been delivered to the provided number.  "
    "Please resubmit the code to complete the transaction.",
    Channel.EMAIL: "A code has been delivered to the provided email address.  "
    "Please resubmit the code to complete the transaction.",
}


@dataclass(frozen=True, slots=True)
class Meta:
    """What every answer's ``meta`` echoes, as far as the request got."""

    service: str | None = None
    reference: str | None = None
    company: str | None = None
    user: str | None = None

    @classmethod
    def of(cls, transaction: Transaction) -> Meta:
        t = transaction
        return cls(service=t.service, reference=t.reference, company=t.company, user=t.user)

    def body(self, confirmation: int, at: float) -> dict[str, Any]:
        return {
            "confirmation": confirmation,
            "reference": self.reference,
            "service": self.service,
            "timestamp": timestamp(at),
            "company": self.company,
            "user": self.user,
        }


def timestamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _result(action: str, detail: str, issues: list[str]) -> dict[str, Any]:
    return {"action": action, "detail": detail, "issues": issues}


def _continuation(token: str, service: str) -> dict[str, Any]:
    return {
        "outofband": {
            "url": CONTINUE_URL,
            "template": {"token": token, "codematch": {"key": None}},
            "instructions": INSTRUCTIONS[SERVICES.get(service, Channel.SMS)],
        }
    }


def _final(token: str) -> dict[str, Any]:
    return {"template": {"token": token}, "url": STATUS_URL}


def begin_body(result: BeginResult, meta: Meta) -> dict[str, Any]:
    action, detail = SEND_ANSWERS[result.outcome]
    body: dict[str, Any] = {
        "output": {"outofband": {}},
        "meta": meta.body(result.confirmation, result.at),
        "result": _result(action, detail, list(result.issues)),
    }
    if result.token is not None and meta.service is not None:
        body["continuations"] = _continuation(result.token, meta.service)
    return body


def check_body(result: CheckResult, token: str) -> dict[str, Any]:
    action, detail = CHECK_ANSWERS[result.outcome]
    meta = Meta.of(result.transaction)
    body: dict[str, Any] = {
        "output": {"codematch": {"key_matched": result.outcome is CheckOutcome.MATCHED}},
        "meta": meta.body(result.confirmation, result.at),
        "result": _result(action, detail, list(result.issues)),
    }
    if result.final_token is not None:
        body["final"] = _final(result.final_token)
    elif result.open:
        body["continuations"] = _continuation(token, result.transaction.service)
    return body


def status_body(transaction: Transaction, final_token: str) -> dict[str, Any]:
    outcome = transaction.outcome or FinalOutcome.EXPIRED
    matched = outcome is FinalOutcome.MATCHED
    action, detail = FINAL_ANSWERS[outcome]
    at = transaction.finished_at or transaction.created_at
    return {
        "output": {"codematch": {"key_matched": matched}},
        "meta": Meta.of(transaction).body(transaction.confirmation or 0, at),
        "result": _result(action, detail, list(FINAL_ISSUES[outcome])),
        "final": _final(final_token),
    }


def _answer_for(exc: OtpError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_ANSWERS:
            return ERROR_ANSWERS[cls]
    return 400, "INVALID REQUEST"


def error_response(
    exc: OtpError, meta: Meta, confirmation: int, at: float, output: dict[str, Any] | None = None
) -> JSONResponse:
    status, detail = _answer_for(exc)
    body = {
        "output": output or {},
        "meta": meta.body(confirmation, at),
        "result": _result(FAIL, detail, [exc.message]),
    }
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, status_code=status, headers=headers)


def not_json(raw: bytes) -> InvalidInput:
    """The body is not JSON text: say why and where, as a JSON parser reports it."""
    try:
        json.loads(raw)
    except UnicodeDecodeError:
        return InvalidInput("body", "the request body is not valid JSON text: not UTF-8")
    except json.JSONDecodeError as exc:
        return InvalidInput(
            "body",
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}",
        )
    return InvalidInput("body", "the request body is not valid JSON text")


def validation_error(exc: RequestValidationError, raw: bytes = b"") -> InvalidInput:
    """The first validation failure, named by its dotted field path; ``raw`` (the body)
    locates a JSON syntax error."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request", "type": ""}
    loc = tuple(first.get("loc", ()))
    kind = first.get("type")
    if kind == "json_invalid":
        return not_json(raw)
    if loc == ("body",) and kind in ("model_attributes_type", "missing"):
        return InvalidInput("body", "the request body must be a JSON object")
    field = field_name(loc)
    if kind == "missing":
        return InvalidInput(field, f"{field} is required")
    msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return InvalidInput(field, f"{field}: {msg}")
